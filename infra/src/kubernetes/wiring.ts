/**
 * Who talks to whom, derived from the model rather than written down: a workload reaches another
 * when its env points at it (a URL, host or port), when a config file it mounts names it (Grafana's
 * data sources, Prometheus's scrape jobs, Promtail's Loki), or when it is the edge and the other
 * one has a public route. NetworkPolicies allow exactly these flows, and each must run inside a
 * network the two share (docs/architecture.md, "Networks"), or the model is inconsistent and the program stops.
 */
import type { ConfigFileContext } from "../config-files/index.js";
import { renderConfigFile } from "../config-files/index.js";
import type { NetworkName, Platform, TargetResolver, Workload } from "../model/index.js";
import { findWorkload, firstPort, portByName, renderEnv } from "../model/index.js";

export interface Flow {
  from: string;
  to: string;
  /** Container ports of `to`, ascending. */
  ports: number[];
}

export interface Wiring {
  flows: Flow[];
  /** Workloads whose configuration discovers pods through the Kubernetes API (Prometheus, Promtail). */
  podDiscovery: string[];
  /** Workloads whose configuration reads Ingress objects (the edge). */
  ingressControllers: string[];
}

/**
 * Pods that read the Kubernetes API: they get their ServiceAccount's token, RBAC and egress to
 * the API server; every other pod gets none of them.
 */
export function apiClients(wiring: Wiring): string[] {
  return [...new Set([...wiring.podDiscovery, ...wiring.ingressControllers])].sort();
}

export function platformWiring(platform: Platform, ctx: ConfigFileContext, resolver: TargetResolver): Wiring {
  const flows = new Map<string, Set<number>>();
  const podDiscovery = new Set<string>();
  const ingressControllers = new Set<string>();
  const add = (from: Workload, to: Workload, ports: number[]) => {
    const key = `${from.name}\0${to.name}`;
    const set = flows.get(key) ?? new Set<number>();
    for (const p of ports) set.add(p);
    flows.set(key, set);
  };

  for (const w of platform.workloads) {
    // The env: every URL, host or port it renders is a connection to that workload's first port.
    renderEnv(platform, w, {
      host: (t) => {
        add(w, t, [firstPort(t)]);
        return resolver.host(t);
      },
      port: (t) => {
        add(w, t, [firstPort(t)]);
        return resolver.port(t);
      },
      secretPath: resolver.secretPath,
    });
    // The files it mounts, rendered while watching what their generators look up.
    for (const file of w.configFiles.filter((f) => !f.secret)) {
      renderConfigFile(
        file.name,
        watching(ctx, w, add, {
          discovers: () => podDiscovery.add(w.name),
          readsIngresses: () => ingressControllers.add(w.name),
        }),
      );
    }
    // The edge forwards every public route.
    if (w.tier === "edge") {
      for (const target of platform.workloads) {
        for (const route of target.routes) add(w, target, [portByName(target, route.port)]);
      }
    }
  }

  const out = [...flows].map(([key, ports]): Flow => {
    const [from = "", to = ""] = key.split("\0");
    return { from, to, ports: [...ports].sort((a, b) => a - b) };
  });
  for (const f of out) {
    if (f.from === f.to) continue;
    const shared = sharedNetworks(findWorkload(platform, f.from), findWorkload(platform, f.to));
    if (shared.length === 0) {
      throw new Error(`${f.from} connects to ${f.to}, but the model puts them on no common network`);
    }
  }
  return {
    flows: out.sort(byEnds),
    podDiscovery: [...podDiscovery].sort(),
    ingressControllers: [...ingressControllers].sort(),
  };
}

export function sharedNetworks(a: Workload, b: Workload): NetworkName[] {
  return a.networks.filter((n) => b.networks.includes(n));
}

/** A generator context that reports every workload a generator names, and API-backed discovery. */
function watching(
  ctx: ConfigFileContext,
  w: Workload,
  add: (from: Workload, to: Workload, ports: number[]) => void,
  api: { discovers: () => void; readsIngresses: () => void },
): ConfigFileContext {
  return {
    platform: ctx.platform,
    host: (t) => {
      add(
        w,
        t,
        t.ports.map((p) => p.port),
      );
      return ctx.host(t);
    },
    scrapeDiscovery: (t, port) => {
      add(w, t, [port]);
      api.discovers();
      return ctx.scrapeDiscovery(t, port);
    },
    get logDiscovery() {
      if (ctx.logDiscovery !== "docker") api.discovers();
      return ctx.logDiscovery;
    },
    edge: {
      ...ctx.edge,
      get kubernetes() {
        if (ctx.edge.kubernetes) api.readsIngresses();
        return ctx.edge.kubernetes;
      },
    },
  };
}

const byEnds = (a: Flow, b: Flow) => a.from.localeCompare(b.from) || a.to.localeCompare(b.to);
