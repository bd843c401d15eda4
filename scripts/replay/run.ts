/**
 * `npm run replay`: the dev stack, replayed on this machine's Docker engine from the program's
 * own graph (docs/verification.md, "Real-engine replay").
 *
 *  1. Runs the Pulumi program under the tests' mocks (test/infra/record-stack.ts) with the dev
 *     stack's settings (Pulumi.dev.yaml) and collects every Docker resource it registers.
 *  2. Images: each pinned third-party image as itself when the engine has it, otherwise as its
 *     stand-in (scripts/replay/standins); the service images from their Dockerfiles.
 *  3. Applies the graph as the provider would (scripts/replay/apply.ts): networks, volumes, then
 *     each container once what it depends on exists, is healthy (`wait`) or has exited
 *     (`attach`), in parallel where the graph allows.
 *  4. Checks on the running stack what the engine alone can show (read-only files, volume owners),
 *     then buys through the gateway container from a client on the edge's network
 *     (scripts/replay/purchase.ts, shared with e2e.yml).
 *  5. Removes everything it created (containers with their anonymous volumes, networks, volumes,
 *     image tags), on success, on failure, on Ctrl-C; a watcher removes it when the run is
 *     killed, and the next run removes what a dead run left.
 *
 * Programs with no Debian package are left out with what depends on them: Traefik, Grafana,
 * Loki, Promtail, Elasticsearch (the dev stack's search runs on MariaDB instead). No host port is
 * published. Env: REPLAY_KEEP=1 leaves the stack running for a look (remove it with the printed
 * command).
 */
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import jmespath from "jmespath";
import yaml from "js-yaml";
import ts from "typescript";
import { REPO_ROOT, resolveImage, THIRD_PARTY_IMAGES } from "../../infra/src/model/index.js";
import {
  type RecordedResource,
  recordStack,
  type StackSettings,
  TYPES,
} from "../../test/infra/record-stack.js";
import { buildImage, isAlive, pickBuilder } from "../images/docker.js";
import {
  type ContainerPlan,
  createContainer,
  createNetwork,
  createVolume,
  type Namespace,
  PID_LABEL,
  physical,
  planContainer,
  RUN_LABEL,
  settle,
} from "./apply.js";
import { call, EngineError, execIn, gone, inspect, logs, tarOf } from "./engine.js";

const STANDINS = join(REPO_ROOT, "scripts/replay/standins");
/** The seeded Node image the stand-ins build on: their Dockerfile's `BASE_IMAGE`, named there only. */
const NODE_IMAGE =
  /^ARG BASE_IMAGE=(\S+)$/m.exec(readFileSync(join(STANDINS, "Dockerfile"), "utf8"))?.[1] ?? "";
const KEEP = process.env.REPLAY_KEEP === "1";
/** The program's settings the replay changes, and why. */
const OVERRIDES: StackSettings = {
  // Elasticsearch has no Debian package: product searches MariaDB's full-text index instead.
  search: "mariadb",
};
/** Third-party images with a stand-in here (scripts/replay/standins/Dockerfile targets). */
const STANDIN_TARGETS = [
  "mariadb",
  "redis",
  "rabbitmq",
  "minio",
  "prometheus",
  "alertmanager",
  "busybox",
] as const;

const log = (msg: string) => process.stdout.write(`replay: ${msg}\n`);
const since = (t0: number) => Math.round((performance.now() - t0) / 100) / 10;
const ns: Namespace = { run: `replay-${randomBytes(3).toString("hex")}`, programPrefix: "shopstream-dev" };
const timings: [string, number][] = [];
async function phase<T>(name: string, work: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  try {
    return await work();
  } finally {
    timings.push([name, since(t0)]);
    log(`${name}: ${since(t0)} s`);
  }
}

// --- cleanup: on success, failure and signals; a watcher for SIGKILL ------------------------------
/** Removes every object labelled with one of `runs` (containers first, with their anonymous volumes). */
async function removeRuns(runs: Set<string>): Promise<void> {
  if (runs.size === 0) return;
  const filters = JSON.stringify({ label: [RUN_LABEL] });
  const containers = await call<{ Id: string; Labels: Record<string, string> }[]>("GET", "/containers/json", {
    query: { all: true, filters },
  });
  await Promise.all(
    containers
      .filter((c) => runs.has(c.Labels[RUN_LABEL] ?? ""))
      .map((c) => gone(call("DELETE", `/containers/${c.Id}`, { query: { force: true, v: true } }))),
  );
  const networks = await call<{ Id: string; Labels: Record<string, string> }[]>("GET", "/networks", {
    query: { filters },
  });
  for (const n of networks.filter((x) => runs.has(x.Labels?.[RUN_LABEL] ?? "")))
    await gone(call("DELETE", `/networks/${n.Id}`));
  const volumes = await call<{ Volumes: { Name: string; Labels: Record<string, string> | null }[] | null }>(
    "GET",
    "/volumes",
    { query: { filters } },
  );
  for (const v of (volumes.Volumes ?? []).filter((x) => runs.has(x.Labels?.[RUN_LABEL] ?? "")))
    await gone(call("DELETE", `/volumes/${v.Name}`));
  const images = await call<{ Id: string; RepoTags: string[] | null }[]>("GET", "/images/json");
  for (const tag of images
    .flatMap((i) => i.RepoTags ?? [])
    .filter((t) => [...runs].some((r) => t.startsWith(`${r}/`))))
    await gone(call("DELETE", `/images/${encodeURIComponent(tag)}`, { query: { noprune: true } }));
}

/** Runs whose process is gone (killed before it could clean up, and its watcher too). */
async function sweepDeadRuns(): Promise<void> {
  const containers = await call<{ Labels: Record<string, string> }[]>("GET", "/containers/json", {
    query: { all: true, filters: JSON.stringify({ label: [RUN_LABEL] }) },
  });
  const networks = await call<{ Labels: Record<string, string> }[]>("GET", "/networks", {
    query: { filters: JSON.stringify({ label: [RUN_LABEL] }) },
  });
  const dead = new Set(
    [...containers, ...networks]
      .filter((o) => !isAlive(Number(o.Labels[PID_LABEL])))
      .map((o) => o.Labels[RUN_LABEL]!),
  );
  if (dead.size) {
    await removeRuns(dead);
    log(`removed what ${dead.size} earlier run(s) left behind: ${[...dead].join(", ")}`);
  }
}

/**
 * A detached watcher that removes this run's objects if this process dies without cleaning up
 * (SIGKILL, OOM); stopped once the run has cleaned up itself.
 */
function startWatcher(): () => void {
  const label = `${RUN_LABEL}=${ns.run}`;
  const script = `
    while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done
    docker ps -aq --filter label=${label} | xargs -r docker rm -fv >/dev/null 2>&1
    docker network ls -q --filter label=${label} | xargs -r docker network rm >/dev/null 2>&1
    docker volume ls -q --filter label=${label} | xargs -r docker volume rm >/dev/null 2>&1
    docker images --format '{{.Repository}}:{{.Tag}}' | grep '^${ns.run}/' | xargs -r docker rmi --no-prune >/dev/null 2>&1
  `;
  const child = spawn("sh", ["-c", script], { detached: true, stdio: "ignore" });
  child.unref();
  return () => {
    if (child.pid && isAlive(child.pid)) process.kill(-child.pid, "SIGTERM");
  };
}

let cleaning: Promise<void> | undefined;
let stopWatcher: () => void = () => {};
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    if (KEEP) {
      stopWatcher();
      log(
        `REPLAY_KEEP=1: left running; remove with: docker ps -aq --filter label=${RUN_LABEL}=${ns.run} | xargs docker rm -fv (then its networks and volumes)`,
      );
      return;
    }
    const t0 = performance.now();
    try {
      await removeRuns(new Set([ns.run]));
      log(`removed everything of ${ns.run} (${since(t0)} s)`);
    } catch (err) {
      process.stderr.write(`replay: cleanup failed: ${(err as Error).message} (the watcher retries)\n`);
      return;
    }
    stopWatcher();
  })();
  return cleaning;
}
for (const [signal, code] of [
  ["SIGINT", 130],
  ["SIGTERM", 143],
] as const) {
  process.once(signal, () => {
    process.stderr.write(`\nreplay: ${signal}: cleaning up\n`);
    aborter.abort();
    void cleanup().finally(() => process.exit(code));
  });
}
const aborter = new AbortController();

// --- 1. the program's graph ----------------------------------------------------------------------
/** Pulumi.dev.yaml's `shopstream:*` settings, as `pulumi config` would hand them to the program. */
function devSettings(): StackSettings {
  const doc = yaml.load(readFileSync(join(REPO_ROOT, "Pulumi.dev.yaml"), "utf8")) as {
    config: Record<string, StackSettings[string]>;
  };
  const settings: StackSettings = {};
  for (const [key, value] of Object.entries(doc.config)) {
    if (key.startsWith("shopstream:")) settings[key.slice("shopstream:".length)] = value;
  }
  return { ...settings, ...OVERRIDES };
}

async function recordGraph(): Promise<RecordedResource[]> {
  const run = await recordStack(() => import("../../infra/src/index.js"), devSettings(), "dev");
  return run.resources;
}

// --- 2. images --------------------------------------------------------------------------------------
/** A hash of the stand-ins' recipe: a stand-in built from another recipe is rebuilt. */
function recipeHash(): string {
  const hash = createHash("sha256");
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir).sort()) {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) walk(path);
      else hash.update(`${path.slice(STANDINS.length)}\0`).update(readFileSync(path));
    }
  };
  walk(STANDINS);
  return hash.digest("hex").slice(0, 12);
}

async function imageInfo(
  ref: string,
): Promise<{ Id: string; Config: { Labels: Record<string, string> | null } } | undefined> {
  try {
    return await call("GET", `/images/${encodeURIComponent(ref)}/json`);
  } catch (err) {
    if (err instanceof EngineError && err.status === 404) return undefined;
    throw err;
  }
}

/**
 * The image ID each pinned reference resolves to here: the real image when the engine has it,
 * otherwise its stand-in (built when missing or from an older recipe). Undefined: no stand-in.
 */
async function thirdPartyImages(names: string[]): Promise<Map<string, string>> {
  const recipe = recipeHash();
  const builder = await pickBuilder();
  const found = new Map<string, string>();
  for (const name of names) {
    const key = (Object.keys(THIRD_PARTY_IMAGES) as (keyof typeof THIRD_PARTY_IMAGES)[]).find(
      (k) => resolveImage(THIRD_PARTY_IMAGES[k]) === name,
    );
    const real = await imageInfo(name);
    if (real && real.Config.Labels?.["org.shopstream.standin"] !== "true") {
      found.set(name, real.Id);
      log(`${name}: the real image`);
      continue;
    }
    if (!key || !(STANDIN_TARGETS as readonly string[]).includes(key)) continue;
    const tag = `shopstream-standin/${name.slice(name.lastIndexOf("/") + 1)}`;
    const present = await imageInfo(tag);
    if (present?.Config.Labels?.["org.shopstream.standin.recipe"] === recipe) {
      found.set(name, present.Id);
      continue;
    }
    const t0 = performance.now();
    const logFile = join(tmpdir(), `${ns.run}-standin-${key}.log`);
    const built = await buildImage(builder, {
      dockerfile: join(STANDINS, "Dockerfile"),
      context: STANDINS,
      args: {},
      target: key,
      tag,
      labels: {
        "org.shopstream.standin": "true",
        "org.shopstream.standin.for": name,
        "org.shopstream.standin.recipe": recipe,
      },
      logFile,
    });
    rmSync(logFile, { force: true });
    found.set(name, built.id);
    log(`${name}: stand-in ${tag} built in ${since(t0)} s`);
  }
  return found;
}

// --- 3. applying the graph --------------------------------------------------------------------------
interface Node {
  resource: RecordedResource;
  done: Promise<string>;
}

async function apply(
  resources: RecordedResource[],
  images: Map<string, string>,
): Promise<Map<string, string>> {
  const byName = new Map(resources.map((r) => [r.name, r]));
  const mockId = (name: string) => `sha256:${createHash("sha256").update(name).digest("hex")}`;
  // The mocks give a RemoteImage the ID sha256(name); a container names its image by that ID.
  const imageIds = new Map<string, string>();
  for (const r of resources.filter((x) => x.type === TYPES.remoteImage)) {
    const id = images.get(String(r.inputs.name));
    if (id) imageIds.set(mockId(String(r.inputs.name)), id);
  }
  // Containers whose image cannot be had here, and everything that depends on them.
  const containers = resources.filter((r) => r.type === TYPES.container);
  const skipped = new Set(containers.filter((r) => !imageIds.has(String(r.inputs.image))).map((r) => r.name));
  for (let grew = true; grew; ) {
    grew = false;
    for (const r of containers) {
      if (!skipped.has(r.name) && r.dependsOn.some((d) => skipped.has(d))) {
        skipped.add(r.name);
        grew = true;
      }
    }
  }
  log(`left out (no program here, or depends on one): ${[...skipped].join(", ")}`);

  await phase("networks and volumes", async () => {
    for (const r of resources.filter((x) => x.type === TYPES.network)) await createNetwork(ns, r);
    for (const r of resources.filter((x) => x.type === TYPES.volume)) await createVolume(ns, r);
  });

  const created = new Map<string, string>();
  const nodes = new Map<string, Node>();
  const health: [string, number][] = [];
  const run = (r: RecordedResource): Promise<string> => {
    const existing = nodes.get(r.name);
    if (existing) return existing.done;
    const done = (async () => {
      await Promise.all(
        r.dependsOn
          .filter((d) => byName.get(d)?.type === TYPES.container && !skipped.has(d))
          .map((d) => run(byName.get(d)!)),
      );
      if (aborter.signal.aborted) throw new Error("aborted");
      const plan: ContainerPlan = planContainer(
        ns,
        r,
        (ref) => imageIds.get(ref) ?? missing(`image ${ref}`),
        (ref) => created.get(ref.replace(/-id$/, "")) ?? missing(`container ${ref}`),
      );
      const id = await createContainer(plan);
      created.set(r.name, id);
      const result = await settle(id, plan, aborter.signal);
      if (result.state !== "running") {
        health.push([plan.name, Math.round(result.seconds * 10) / 10]);
        log(`${plan.name}: ${result.state} after ${Math.round(result.seconds * 10) / 10} s`);
      }
      return id;
    })();
    nodes.set(r.name, { resource: r, done });
    return done;
  };
  await phase("containers up and healthy", () =>
    Promise.all(containers.filter((r) => !skipped.has(r.name)).map(run)),
  );
  return created;
}

const missing = (what: string): never => {
  throw new Error(`the graph names ${what}, which the replay did not create`);
};

// --- 4. what the running stack shows ---------------------------------------------------------------
async function checkFacts(resources: RecordedResource[], created: Map<string, string>): Promise<void> {
  const problems: string[] = [];
  for (const r of resources.filter((x) => x.type === TYPES.container && created.has(x.name))) {
    const id = created.get(r.name)!;
    const info = await inspect(id);
    if (!info.State.Running) continue;
    // Secrets and configs from the carrier are files the workload can read but not change.
    for (const u of (resources.find((c) => c.name === `${r.name}-files`)?.inputs.uploads ?? []) as {
      file: string;
    }[]) {
      const probe = await execIn(id, [
        "sh",
        "-c",
        `test -r '${u.file}' && ! test -w '${u.file}' && ! (: >> '${u.file}') 2>/dev/null`,
      ]);
      if (probe.code !== 0)
        problems.push(`${info.Name}: ${u.file} is not read-only for the workload (${probe.output.trim()})`);
    }
    // A prepared volume still belongs to the workload's user once mounted.
    for (const v of (r.inputs.volumes ?? []) as { volumeName?: string; containerPath: string }[]) {
      if (!v.volumeName) continue;
      const probe = await execIn(id, ["sh", "-c", `test -w '${v.containerPath}'`]);
      if (probe.code !== 0)
        problems.push(
          `${info.Name}: its volume at ${v.containerPath} is not writable by ${info.Config.User || "root"}`,
        );
    }
  }
  problems.push(...(await logLineProblems(resources, created)));
  problems.push(...(await dependencyProblems(created)));
  if (problems.length)
    throw new Error(`the running stack contradicts the program:\n  ${problems.join("\n  ")}`);
  log("every mounted secret and config file is read-only to its workload; every volume writable by it");
  log("every container's log lines carry the labels Promtail's pipeline reads from them");
  log("every service reaches every dependency it has (its /health says ok)");
}

/**
 * Every app service reaches all it depends on, degradable dependencies included (its `/health`
 * lists them all `ok`): the networks, ports, users and ACL files the program gives it fit
 * together, the catalog cache's Redis included, which only a degradable check would miss.
 * Asked from inside each container (the images' bash); a connection made in the background has
 * a minute to be made.
 */
async function dependencyProblems(created: Map<string, string>): Promise<string[]> {
  const problems: string[] = [];
  for (const [name, id] of created) {
    const info = await inspect(id);
    if (!info.State.Running || info.Config.Labels["com.shopstream.tier"] !== "app") continue;
    const port = info.Config.Env?.find((e) => e.startsWith("PORT="))?.slice("PORT=".length);
    if (!port) continue; // the storefront: static files, no dependency
    const deadline = Date.now() + 60_000;
    for (;;) {
      const probe = await execIn(id, [
        "bash",
        "-c",
        `exec 3<>/dev/tcp/127.0.0.1/${port} && printf 'GET /health HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && cat <&3`,
      ]);
      const body = probe.output.slice(probe.output.indexOf("{")).trim();
      let status: unknown;
      try {
        status = (JSON.parse(body) as { status?: unknown }).status;
      } catch {
        status = undefined;
      }
      if (status === "ok") break;
      if (Date.now() > deadline) {
        problems.push(`${name}: /health answers ${body || probe.output.trim()}`);
        break;
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  return problems;
}

/**
 * Promtail tails the engine's log files instead of asking the Docker API: the labels it gives a
 * stream come from each line's `attrs` (the `json-file` options the program sets). Its own
 * pipeline's expressions, evaluated on a real line of each running container, must name the
 * stack, the workload and the container.
 */
async function logLineProblems(
  resources: RecordedResource[],
  created: Map<string, string>,
): Promise<string[]> {
  const uploads = resources.flatMap((r) => (r.inputs.uploads ?? []) as { file: string; content?: string }[]);
  const config = uploads.find((u) => u.file === "/etc/promtail/promtail.yml")?.content;
  if (!config) return ["the program uploads no Promtail configuration"];
  const parsed = yaml.load(config) as {
    scrape_configs: { pipeline_stages: { json?: { expressions: Record<string, string> } }[] }[];
  };
  const expressions = parsed.scrape_configs[0]?.pipeline_stages[0]?.json?.expressions ?? {};
  const problems: string[] = [];
  let checked = 0;
  for (const [name, id] of created) {
    const info = await inspect(id);
    if (!info.LogPath) continue;
    let first = "";
    try {
      first = readFileSync(info.LogPath, "utf8").split("\n")[0] ?? "";
    } catch {
      continue; // a remote engine's files are not here to read
    }
    if (!first) continue;
    checked++;
    const line = JSON.parse(first) as unknown;
    const got = (key: string) => (expressions[key] ? jmespath.search(line, expressions[key]) : undefined);
    const want = {
      stack: "dev",
      service: info.Config.Labels["com.shopstream.workload"],
      container: info.Name.replace(/^\//, ""),
      output: (line as { log?: string }).log,
    };
    for (const [key, value] of Object.entries(want)) {
      if (got(key) !== value)
        problems.push(`${name}: Promtail would read ${key}=${String(got(key))}, not ${value}`);
    }
  }
  // The engine runs here (its socket is local): its log files must have been read.
  if (checked === 0) problems.push("no container's log file could be read to check Promtail's pipeline");
  return problems;
}

/** The shared purchase script, run from a client container on the edge's `frontend` network. */
async function buy(): Promise<void> {
  const source = readFileSync(join(REPO_ROOT, "scripts/replay/purchase.ts"), "utf8");
  const js = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  }).outputText;
  const node = await imageInfo(NODE_IMAGE);
  if (!node) throw new Error(`${NODE_IMAGE} is missing: npm run images:seed`);
  const name = `${ns.run}-client`;
  const { Id } = await call<{ Id: string }>("POST", "/containers/create", {
    query: { name },
    json: {
      Image: node.Id,
      User: "1000:1000",
      Cmd: ["node", "/replay/purchase.mjs", "http://gateway:8080"],
      Labels: { [RUN_LABEL]: ns.run, [PID_LABEL]: String(process.pid) },
      // Where Traefik would be: on the edge's side of the gateway. (Its root stays writable: the
      // engine copies the script into no read-only root.)
      HostConfig: {
        CapDrop: ["ALL"],
        Memory: 256 * 1024 * 1024,
        NetworkMode: physical(ns, "shopstream-dev-frontend"),
      },
    },
  });
  await call("PUT", `/containers/${Id}/archive`, {
    query: { path: "/" },
    tar: tarOf([{ path: "replay/purchase.mjs", content: js, mode: 0o444, uid: 0, gid: 0 }]),
  });
  await call("POST", `/containers/${Id}/start`);
  const waited = await call<{ StatusCode: number }>("POST", `/containers/${Id}/wait`, { timeoutMs: 180_000 });
  const out = await logs(Id);
  if (waited.StatusCode !== 0) throw new Error(`the purchase failed:\n${out}`);
  log(out.trim());
}

// --- main ---------------------------------------------------------------------------------------------
async function main(): Promise<void> {
  const t0 = performance.now();
  log(`run ${ns.run} (objects are named ${ns.run}-*, labelled ${RUN_LABEL}=${ns.run})`);
  stopWatcher = startWatcher();
  await sweepDeadRuns();
  const resources = await phase("the program under mocks", recordGraph);
  const remote = [
    ...new Set(
      resources
        .filter((r) => r.type === TYPES.remoteImage && !r.name.endsWith("-local-image"))
        .map((r) => String(r.inputs.name)),
    ),
  ];
  const images = await phase("third-party images (stand-ins)", () => thirdPartyImages(remote));
  await phase("service images", async () => {
    const builder = await pickBuilder();
    const builds = resources.filter((r) => r.type === TYPES.image);
    const queue = [...builds];
    const errors: Error[] = [];
    await Promise.all(
      [0, 1].map(async () => {
        for (let r = queue.shift(); r; r = queue.shift()) {
          const b = r.inputs.build;
          const logFile = join(mkdtempSync(join(tmpdir(), `${ns.run}-`)), "build.log");
          try {
            const built = await buildImage(builder, {
              dockerfile: resolve(String(b.dockerfile)),
              context: resolve(String(b.context)),
              args: b.args ?? {},
              tag: `${ns.run}/${r.inputs.imageName}`,
              labels: { [RUN_LABEL]: ns.run },
              logFile,
            });
            images.set(String(r.inputs.imageName), built.id);
          } catch (err) {
            errors.push(err as Error);
          } finally {
            rmSync(logFile, { force: true });
          }
        }
      }),
    );
    if (errors.length) throw errors[0];
  });
  const created = await apply(resources, images);
  await phase("facts on the engine", () => checkFacts(resources, created));
  await phase("a purchase through the gateway container", buy);
  timings.push(["total", since(t0)]);
}

main().then(
  () => {
    log(`passed: ${timings.map(([k, v]) => `${k} ${v} s`).join(", ")}`);
    return cleanup().then(() => process.exit(0));
  },
  (err: Error) => {
    process.stderr.write(`replay: FAILED: ${err.message}\n`);
    return cleanup().then(() => process.exit(1));
  },
);
