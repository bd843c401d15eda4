import type { CanarySettings, EnvValue, Workload } from "./types.js";

/** The name of a workload's canary (its container, Swarm service, Kubernetes Deployment). */
export const canaryName = (stable: string) => `${stable}-canary`;

/** Workloads a canary may be run for: those the edge routes public traffic to. */
export function canaryCandidates(workloads: Workload[]): string[] {
  return workloads.filter((w) => w.tier === "app" && w.routes.length > 0).map((w) => w.name);
}

/**
 * Adds a canary beside its stable workload: the same workload (env, networks, limits, health
 * checks) from another image, with its own name so the edge can weigh the two, and the stable's
 * identity (its Redis and broker users, keys and secrets, which the stable declares once). Both
 * sides carry `SERVICE_VERSION`, so every metric and log line says which version served it, and
 * whoever trusts the stable as a proxy trusts the canary too.
 */
export function withCanary(workloads: Workload[], canary: CanarySettings | undefined): Workload[] {
  if (!canary) return workloads;
  const stable = workloads.find((w) => w.name === canary.service);
  if (!stable || !canaryCandidates(workloads).includes(stable.name)) {
    throw new Error(
      `canary.service must be one of ${canaryCandidates(workloads).join(", ")} (a service the edge routes to), not ${canary.service}`,
    );
  }
  const name = canaryName(stable.name);
  const {
    broker: _broker,
    redis: _redis,
    serviceKey: _serviceKey,
    internalRoutes: _internalRoutes,
    autoscale: _autoscale,
    // Only the stable runs in the local run.
    local: _local,
    ...rest
  } = stable;
  const canaryWorkload: Workload = {
    ...rest,
    name,
    description: `${stable.description} (canary ${canary.version}, ${canary.weight}% of its traffic)`,
    image: { kind: "reference", ref: canary.image },
    env: withVersion(stable.env, canary.version),
    // The edge sends it traffic through the stable's routes (a weighted service), not routes of its own.
    routes: [],
    replicas: canary.replicas,
    // The stable owns its databases; the canary uses them as the stable does.
    databases: [],
    version: canary.version,
    canaryOf: { workload: stable.name, weight: canary.weight },
  };
  const out: Workload[] = [];
  for (const w of workloads) {
    const trusting = trustCanary(w, stable.name, name);
    if (w === stable) {
      out.push({
        ...trusting,
        env: withVersion(trusting.env, canary.stableVersion),
        version: canary.stableVersion,
      });
      out.push(canaryWorkload);
    } else {
      out.push(trusting);
    }
  }
  return out;
}

function withVersion(env: Record<string, EnvValue>, version: string): Record<string, EnvValue> {
  return { ...env, SERVICE_VERSION: version };
}

/** A workload that believes the stable's forwarded-for headers believes the canary's too. */
function trustCanary(w: Workload, stable: string, canary: string): Workload {
  let changed = false;
  const env: Record<string, EnvValue> = {};
  for (const [key, value] of Object.entries(w.env)) {
    if (typeof value !== "string" && value.kind === "trusted-peers" && value.workloads.includes(stable)) {
      env[key] = { kind: "trusted-peers", workloads: [...value.workloads, canary] };
      changed = true;
    } else {
      env[key] = value;
    }
  }
  return changed ? { ...w, env } : w;
}
