/**
 * A workload's wiring as one target renders it, read from the platform model without running
 * anything: its env (secret values hidden: secrets are files), the files it reads, its networks,
 * its ports and the policies that bound it.
 *
 *   npm run wiring -- <workload> [--target local|docker|kubernetes]   (default: local)
 *   npm run wiring -- --doc        writes docs/wiring.md (test/infra/wiring-doc.test.ts checks it)
 *
 * The local target is `npm run dev` with no settings; docker is the dev stack (Pulumi.dev.yaml),
 * kubernetes the prod stack (Pulumi.prod.yaml).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import yaml from "js-yaml";
import { parseStackConfig, platformSettings, type StackConfig } from "../infra/src/config.js";
import { kubernetesWiring } from "../infra/src/kubernetes/platform.js";
import { apiClients, platformWiring } from "../infra/src/kubernetes/wiring.js";
import { localEndpoints } from "../infra/src/local/endpoints.js";
import { localResolver } from "../infra/src/local/run.js";
import {
  buildPlatform,
  containerResolver,
  filesOf,
  localSettings,
  type Platform,
  REPO_ROOT,
  renderEnv,
  type TargetResolver,
  type Workload,
} from "../infra/src/model/index.js";

export const TARGETS = ["local", "docker", "kubernetes"] as const;
export type Target = (typeof TARGETS)[number];

/** Where the local run writes its secret files: a fresh 0700 temp folder per run. */
const LOCAL_SECRETS_DIR = "$TMPDIR/shopstream-secrets-XXXXXX";

function stackConfig(stack: "dev" | "prod"): StackConfig {
  const doc = yaml.load(readFileSync(join(REPO_ROOT, `Pulumi.${stack}.yaml`), "utf8")) as {
    config: Record<string, unknown>;
  };
  const raw = Object.fromEntries(
    Object.entries(doc.config)
      .filter(([k]) => k.startsWith("shopstream:"))
      .map(([k, v]) => [
        k.slice("shopstream:".length),
        typeof v === "object" ? JSON.stringify(v) : String(v),
      ]),
  );
  return parseStackConfig(raw, stack);
}

interface Rendered {
  platform: Platform;
  resolver: TargetResolver;
  /** Physical network names (Docker) or where policies apply (Kubernetes). */
  networks(w: Workload): string[];
  /** What bounds the workload's traffic beyond its networks. */
  policies(w: Workload): string[];
  /** Where secret files live for this target. */
  secretPath(secret: string): string;
  /** Where other workloads reach it, and what it publishes. */
  ports(w: Workload): string[];
}

function renderTarget(target: Target): Rendered {
  if (target === "local") {
    const platform = buildPlatform(localSettings({ adminEmail: "admin-<generated once>@shopstream.local" }));
    const resolver = localResolver(localEndpoints({}), LOCAL_SECRETS_DIR, platform.settings);
    return {
      platform,
      resolver,
      networks: () => ["none: every process on 127.0.0.1"],
      policies: () => [],
      secretPath: resolver.secretPath,
      ports: (w) => [`127.0.0.1:${resolver.port(w)}`],
    };
  }
  if (target === "docker") {
    const config = stackConfig("dev");
    const platform = buildPlatform(platformSettings(config));
    return {
      platform,
      resolver: containerResolver,
      networks: (w) => w.networks.map((n) => `${config.prefix}-${n} (${n})`),
      policies: () => [],
      secretPath: containerResolver.secretPath,
      ports: (w) => [
        ...w.ports.map((p) => `${containerResolver.host(w)}:${p.port} (${p.name})`),
        ...(w.tier === "edge"
          ? [`published: ${config.httpPort} → web, ${config.httpsPort} → websecure`]
          : []),
      ],
    };
  }
  const config = stackConfig("prod");
  const platform = buildPlatform(platformSettings(config));
  const k8s = kubernetesWiring(platform, config);
  const wiring = platformWiring(platform, k8s.fileContext, k8s.resolver);
  const readsApi = new Set(apiClients(wiring));
  const flow = (f: { from: string; to: string; ports: number[] }, other: string) =>
    `${other} on ${f.ports.join(", ")}`;
  return {
    platform,
    resolver: k8s.resolver,
    networks: (w) => [`namespace ${k8s.layout.namespace}${w.readsContainerLogs ? "-node-agents" : ""}`],
    policies: (w) => {
      const into = wiring.flows.filter((f) => f.to === w.name).map((f) => flow(f, f.from));
      const out = wiring.flows.filter((f) => f.from === w.name).map((f) => flow(f, f.to));
      return [
        `NetworkPolicy ingress: ${into.length ? into.join("; ") : "none"}${w.tier === "edge" ? "; the public Service" : ""}`,
        `NetworkPolicy egress: DNS${out.length ? `; ${out.join("; ")}` : ""}${readsApi.has(w.name) ? "; the API server" : ""}`,
        `Kubernetes API: ${readsApi.has(w.name) ? "its ServiceAccount's token and RBAC" : "no token mounted"}`,
      ];
    },
    secretPath: containerResolver.secretPath,
    ports: (w) => w.ports.map((p) => `${k8s.resolver.host(w)}:${p.port} (${p.name})`),
  };
}

/** A workload's rights as the model gives them (the same in every target). */
function rights(platform: Platform, w: Workload): string[] {
  const out: string[] = [];
  if (w.broker)
    out.push(
      `RabbitMQ user ${w.broker.user}: reads ${w.broker.queues.join(", ") || "nothing"}; publishes ${w.broker.publishes.join(", ") || "nothing"}`,
    );
  for (const r of w.redis ?? [])
    out.push(
      `Redis user ${r.user} on ${r.instance}: keys ${r.keys.map((k) => `${k}:*`).join(", ") || "none"}${r.channels.length ? `; channels ${r.channels.join(", ")}` : ""}`,
    );
  for (const db of w.databases) out.push(`MariaDB: database ${db.name}, user ${db.user}`);
  const calls = platform.workloads.flatMap((callee) =>
    (callee.internalRoutes ?? [])
      .filter((r) => r.callers.includes(w.name))
      .map((r) => `${callee.name} ${r.method} ${r.path}`),
  );
  if (calls.length) out.push(`may call: ${calls.join(", ")}`);
  for (const r of w.internalRoutes ?? []) out.push(`serves ${r.method} ${r.path} to ${r.callers.join(", ")}`);
  return out;
}

/** The wiring of one workload on one target, as plain text (Markdown). */
export function describeWiring(workload: string, target: Target, rendered = renderTarget(target)): string {
  const { platform, resolver } = rendered;
  const w = platform.workloads.find((x) => x.name === workload);
  if (!w) {
    throw new Error(
      `no workload ${workload} on ${target} (known: ${platform.workloads.map((x) => x.name).join(", ")})`,
    );
  }
  const env = renderEnv(platform, w, resolver);
  // A secret the target passes as a value (none today: every target passes files) is hidden.
  const secretKeys = new Set(
    Object.entries(w.env)
      .filter(([, v]) => typeof v !== "string" && v.kind === "secret")
      .map(([k]) => k),
  );
  const files = filesOf(w).map((f) => {
    const path = f.source.kind === "secret" ? rendered.secretPath(f.source.secret) : f.path;
    const from =
      f.source.kind === "secret"
        ? `secret ${f.source.secret}`
        : f.source.kind === "secret-file"
          ? `generated secret file ${f.source.name}`
          : `generated config ${f.source.name}`;
    return `${path} (${from}, mode 0${f.mode.toString(8)})`;
  });
  const list = (items: string[]) => (items.length ? items.map((i) => `- ${i}`) : ["- none"]);
  return [
    `### ${w.name} on ${target}`,
    "",
    "env:",
    "",
    "```",
    ...Object.keys(env)
      .sort()
      .map((k) => `${k}=${secretKeys.has(k) ? "(secret)" : env[k]}`),
    "```",
    "",
    "files:",
    ...list(target === "local" ? files.filter((f) => f.startsWith(LOCAL_SECRETS_DIR)) : files),
    "",
    "networks:",
    ...list(rendered.networks(w)),
    "",
    "ports:",
    ...list(rendered.ports(w)),
    "",
    "policies:",
    ...list([...rights(platform, w), ...rendered.policies(w)]),
    "",
  ].join("\n");
}

/** docs/wiring.md: every app service on every target. */
export function wiringDoc(): string {
  const parts = [
    "# Wiring: what each service receives on each target",
    "",
    "Generated by `npm run wiring -- --doc` from the platform model; `test/infra/wiring-doc.test.ts`",
    "fails when it no longer matches. `npm run wiring -- <workload> [--target local|docker|kubernetes]`",
    "prints one of these sections for any workload, the third-party ones included. The local target is",
    "`npm run dev` with no settings, docker the dev stack (`Pulumi.dev.yaml`), kubernetes the prod",
    "stack (`Pulumi.prod.yaml`). Secrets always arrive as files (`NAME_FILE`); their values are never",
    "shown here.",
    "",
  ];
  for (const target of TARGETS) {
    const rendered = renderTarget(target);
    parts.push(`## ${target}`, "");
    for (const w of rendered.platform.workloads.filter((x) => x.local))
      parts.push(describeWiring(w.name, target, rendered));
  }
  return `${parts.join("\n").trimEnd()}\n`;
}

export const WIRING_DOC = join(REPO_ROOT, "docs/wiring.md");

/** The command line: what to print (to stdout, or stderr when `code` is not 0) and the exit code. */
export function wiringCommand(args: string[]): { code: number; out: string } {
  if (args.includes("--doc")) {
    writeFileSync(WIRING_DOC, wiringDoc());
    return { code: 0, out: `wrote ${WIRING_DOC}\n` };
  }
  const at = args.indexOf("--target");
  const target = (at >= 0 ? args[at + 1] : "local") as Target;
  const [workload] = args.filter((a, i) => !a.startsWith("--") && args[i - 1] !== "--target");
  if (!TARGETS.includes(target) || !workload) {
    return {
      code: 2,
      out: "usage: npm run wiring -- <workload> [--target local|docker|kubernetes] | --doc\n",
    };
  }
  try {
    return { code: 0, out: describeWiring(workload, target) };
  } catch (err) {
    return { code: 1, out: `${(err as Error).message}\n` };
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { code, out } = wiringCommand(process.argv.slice(2));
  (code === 0 ? process.stdout : process.stderr).write(out);
  process.exitCode = code;
}
