import type { EnvValue, Platform, SecretName, Workload } from "./types.js";
import { SECRETS_DIR } from "./types.js";

/** How a target reaches a workload and where it puts secret files. */
export interface TargetResolver {
  /** Host name (or address) other workloads use to reach `workload`. */
  host(workload: Workload): string;
  /** Port other workloads use to reach `workload`'s first port. */
  port(workload: Workload): number;
  /** Path of a secret file inside the process's filesystem. */
  secretPath(secret: SecretName): string;
  /**
   * `TRUST_PROXY` for a process that must believe X-Forwarded-For from `peers` only (the runtime's
   * services/runtime/src/trust-proxy.ts reads it). Absent: `loopback` (every process on one host).
   */
  trustedPeers?(peers: Workload[]): string;
}

/** Container targets mount every secret at /run/secrets/<name> and reach workloads by name. */
export const containerResolver: TargetResolver = {
  host: (w) => w.name,
  port: (w) => firstPort(w),
  secretPath: (secret) => `${SECRETS_DIR}/${secret}`,
  // The peers' addresses by their names on the shared networks: a container's alias on one host,
  // `tasks.<name>` (each task's address, not the virtual IP) on Swarm. Resolved again while the
  // process runs, since a restarted peer gets a new address.
  trustedPeers: (peers) => peers.flatMap((w) => [`dns:${w.name}`, `dns:tasks.${w.name}`]).join(","),
};

export function firstPort(w: Pick<Workload, "name" | "ports">): number {
  const p = w.ports[0];
  if (!p) throw new Error(`workload ${w.name} has no port`);
  return p.port;
}

export function portByName(w: Workload, name: string): number {
  const p = w.ports.find((x) => x.name === name);
  if (!p) throw new Error(`workload ${w.name} has no port named ${name}`);
  return p.port;
}

/** The env a workload's process receives: literal strings only, secrets as `_FILE` paths. */
export function renderEnv(
  platform: Platform,
  workload: Workload,
  resolver: TargetResolver,
): Record<string, string> {
  const target = (name: string) => {
    const w = platform.workloads.find((x) => x.name === name);
    if (!w) throw new Error(`workload ${workload.name} refers to unknown workload ${name}`);
    return w;
  };
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(workload.env)) {
    const rendered = renderValue(key, value);
    out[rendered.key] = rendered.value;
  }
  return out;

  function renderValue(key: string, value: EnvValue): { key: string; value: string } {
    if (typeof value === "string") return { key, value };
    switch (value.kind) {
      case "secret":
        return { key: value.fileVar ?? `${key}_FILE`, value: resolver.secretPath(value.secret) };
      case "host":
        return { key, value: resolver.host(target(value.workload)) };
      case "port":
        return { key, value: String(resolver.port(target(value.workload))) };
      case "secret-files":
        return {
          key,
          value: JSON.stringify(
            Object.fromEntries(Object.entries(value.secrets).map(([k, v]) => [k, resolver.secretPath(v)])),
          ),
        };
      case "trusted-peers":
        return { key, value: resolver.trustedPeers?.(value.workloads.map(target)) ?? "loopback" };
      case "url": {
        const w = target(value.workload);
        return { key, value: `${value.scheme}://${resolver.host(w)}:${resolver.port(w)}${value.path ?? ""}` };
      }
    }
  }
}

/** Every secret a workload's process needs as a file: those its env names, plus its extras. */
export function secretsOf(workload: Workload): SecretName[] {
  const names = new Set<SecretName>(workload.extraSecrets);
  for (const value of Object.values(workload.env)) {
    if (typeof value !== "string" && value.kind === "secret") names.add(value.secret);
    if (typeof value !== "string" && value.kind === "secret-files")
      for (const s of Object.values(value.secrets)) names.add(s);
  }
  return [...names].sort();
}
