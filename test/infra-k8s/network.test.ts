import { beforeAll, describe, expect, it } from "vitest";
import { type Platform, portByName } from "../../infra/src/model/index.js";
import type { RecordedResource, StackRun } from "../infra/mocks.js";
import { CONTROLLERS, K8S, type Obj, prodPlatform, runProd } from "./prod.js";

/**
 * NetworkPolicy semantics over the recorded objects: a connection from one pod to another pod's
 * port is allowed when some policy selecting the source allows it out (or none isolates the
 * source's egress) and some policy selecting the destination allows it in (likewise).
 */
interface Pod {
  workload: string;
  namespace: string;
  labels: Record<string, string>;
  ports: number[];
}

let run: StackRun;
let platform: Platform;
let pods: Map<string, Pod>;
let policies: RecordedResource[];
let namespaceLabels: Map<string, Record<string, string>>;

beforeAll(async () => {
  run = await runProd();
  platform = await prodPlatform();
  pods = new Map(
    run.resources
      .filter((r) => CONTROLLERS.includes(r.type))
      .map((r): [string, Pod] => [
        r.inputs.metadata.name,
        {
          workload: r.inputs.metadata.name,
          namespace: r.inputs.metadata.namespace,
          labels: r.inputs.spec.template.metadata.labels,
          ports: r.inputs.spec.template.spec.containers[0].ports.map((p: Obj) => p.containerPort),
        },
      ]),
  );
  policies = run.ofType(K8S.networkPolicy);
  namespaceLabels = new Map(
    run
      .ofType(K8S.namespace)
      .map((n) => [
        n.inputs.metadata.name,
        { ...n.inputs.metadata.labels, "kubernetes.io/metadata.name": n.inputs.metadata.name },
      ]),
  );
});

const matches = (selector: Obj | undefined, labels: Record<string, string>) =>
  Object.entries((selector?.matchLabels ?? {}) as Record<string, string>).every(([k, v]) => labels[k] === v);

/** Whether a policy peer (in the policy's namespace) stands for this pod. */
function peerMatches(peer: Obj, policyNamespace: string, pod: Pod): boolean {
  if (peer.ipBlock) return true; // CNIs differ on pod IPs in ipBlocks: assume the worst
  const inNamespace = peer.namespaceSelector
    ? matches(peer.namespaceSelector, namespaceLabels.get(pod.namespace) ?? {})
    : pod.namespace === policyNamespace;
  return inNamespace && (peer.podSelector ? matches(peer.podSelector, pod.labels) : true);
}

function portAllowed(ports: Obj[] | undefined, port: number): boolean {
  return !ports?.length || ports.some((p) => p.port === port && (p.protocol ?? "TCP") === "TCP");
}

function allowedDirection(pod: Pod, other: Pod | "outside", port: number, direction: "Ingress" | "Egress") {
  const selecting = policies.filter(
    (p) =>
      p.inputs.metadata.namespace === pod.namespace &&
      matches(p.inputs.spec.podSelector, pod.labels) &&
      (p.inputs.spec.policyTypes as string[]).includes(direction),
  );
  if (selecting.length === 0) return true;
  const key = direction === "Ingress" ? "ingress" : "egress";
  const peersKey = direction === "Ingress" ? "from" : "to";
  return selecting.some((p) =>
    ((p.inputs.spec[key] ?? []) as Obj[]).some(
      (rule) =>
        portAllowed(rule.ports, port) &&
        (!rule[peersKey]?.length ||
          (rule[peersKey] as Obj[]).some((peer) =>
            other === "outside"
              ? Boolean(peer.ipBlock)
              : peerMatches(peer, p.inputs.metadata.namespace, other),
          )),
    ),
  );
}

/** Can `from` open a TCP connection to `to`'s port? */
function reaches(from: string, to: string, port: number): boolean {
  const a = pods.get(from);
  const b = pods.get(to);
  if (!a || !b) throw new Error(`no pods for ${from} or ${to}`);
  return allowedDirection(a, b, port, "Egress") && allowedDirection(b, a, port, "Ingress");
}

const portOf = (workload: string) => pods.get(workload)!.ports[0]!;
const DATA_STORES = ["mariadb", "redis", "redis-cache", "rabbitmq", "minio", "elasticsearch"];

describe("NetworkPolicies derived from the model's networks", () => {
  it("deny everything by default in every namespace of the platform, then allow DNS to kube-system", () => {
    for (const ns of namespaceLabels.keys()) {
      const deny = policies.find(
        (p) => p.inputs.metadata.namespace === ns && p.inputs.metadata.name === "default-deny",
      );
      expect(deny?.inputs.spec, ns).toEqual({ podSelector: {}, policyTypes: ["Ingress", "Egress"] });
      const dns = policies.find(
        (p) => p.inputs.metadata.namespace === ns && p.inputs.metadata.name === "allow-dns",
      );
      expect(dns?.inputs.spec.egress[0].to, ns).toEqual([
        { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } } },
      ]);
      expect(dns?.inputs.spec.egress[0].ports.map((p: Obj) => `${p.protocol}/${p.port}`).sort()).toEqual([
        "TCP/53",
        "UDP/53",
      ]);
    }
  });

  it("keep the storefront away from every data store", () => {
    for (const store of DATA_STORES) {
      for (const port of pods.get(store)!.ports)
        expect(reaches("storefront", store, port), store).toBe(false);
    }
  });

  it("let only the services that own a database reach MariaDB", () => {
    const owners = platform.workloads.filter((w) => w.databases.length > 0).map((w) => w.name);
    expect(owners.sort()).toEqual(["auth", "order", "payment", "product"]);
    for (const pod of pods.values()) {
      if (pod.workload === "mariadb") continue;
      expect(reaches(pod.workload, "mariadb", 3306), pod.workload).toBe(owners.includes(pod.workload));
    }
  });

  it("let a service reach a data store only when its env points at it", () => {
    expect(reaches("cart", "redis", 6379)).toBe(true);
    expect(reaches("cart", "rabbitmq", 5672)).toBe(true);
    expect(reaches("payment", "redis", 6379)).toBe(false);
    expect(reaches("product", "elasticsearch", 9200)).toBe(true);
    expect(reaches("product", "minio", 9000)).toBe(true);
    expect(reaches("order", "elasticsearch", 9200)).toBe(false);
    expect(reaches("gateway", "rabbitmq", 5672)).toBe(false);
    expect(reaches("grafana", "mariadb", 3306)).toBe(false);
  });

  it("let only product and the gateway reach the catalog cache's Redis, and product no other Redis", () => {
    const users = platform.workloads
      .filter((w) => w.redis?.some((r) => r.instance === "redis-cache"))
      .map((w) => w.name);
    expect(users.sort()).toEqual(["gateway", "product"]);
    for (const pod of pods.values()) {
      if (pod.workload === "redis-cache") continue;
      expect(reaches(pod.workload, "redis-cache", portOf("redis-cache")), pod.workload).toBe(
        users.includes(pod.workload),
      );
    }
    expect(portOf("redis-cache")).toBe(6380);
    expect(reaches("product", "redis", 6379)).toBe(false);
    expect(reaches("gateway", "redis", 6379)).toBe(true);
  });

  it("let the gateway reach the services it routes to, and no service call the gateway back", () => {
    for (const app of ["auth", "product", "cart", "order", "notification", "analytics"])
      expect(reaches("gateway", app, portOf(app)), app).toBe(true);
    expect(reaches("gateway", "payment", portOf("payment"))).toBe(false);
    for (const app of ["auth", "product", "cart", "order"])
      expect(reaches(app, "gateway", 8080), app).toBe(false);
    expect(reaches("cart", "product", portOf("product"))).toBe(true);
    expect(reaches("product", "cart", portOf("cart"))).toBe(false);
  });

  it("let Prometheus reach every workload's metrics port, across namespaces", () => {
    for (const w of platform.workloads.filter((x) => x.scrape)) {
      expect(reaches("prometheus", w.name, portByName(w, w.scrape!.port)), w.name).toBe(true);
    }
    expect(pods.get("promtail")!.namespace).not.toBe(pods.get("prometheus")!.namespace);
    // The metrics port, not the broker's AMQP port.
    expect(reaches("prometheus", "rabbitmq", 5672)).toBe(false);
    expect(reaches("prometheus", "mariadb", 3306)).toBe(false);
  });

  it("wire the observability stack as its config files say", () => {
    expect(reaches("grafana", "prometheus", 9090)).toBe(true);
    expect(reaches("grafana", "loki", 3100)).toBe(true);
    expect(reaches("promtail", "loki", 3100)).toBe(true);
    expect(reaches("prometheus", "alertmanager", 9093)).toBe(true);
    expect(reaches("gateway", "loki", 3100)).toBe(false);
  });

  it("let every app service send spans to Tempo's OTLP port and nothing else of it; Grafana query it", () => {
    for (const service of [
      "gateway",
      "auth",
      "product",
      "cart",
      "order",
      "payment",
      "notification",
      "analytics",
    ]) {
      expect(reaches(service, "tempo", 4318), service).toBe(true);
      expect(reaches(service, "tempo", 3200), service).toBe(false);
    }
    expect(reaches("grafana", "tempo", 3200)).toBe(true);
    expect(reaches("prometheus", "tempo", 3200)).toBe(true);
    expect(reaches("storefront", "tempo", 4318)).toBe(false);
    expect(reaches("mariadb", "tempo", 4318)).toBe(false);
  });

  it("let the outside in only at the edge's HTTP and HTTPS entry points, which forward the public routes", () => {
    for (const pod of pods.values()) {
      for (const port of pod.ports) {
        const open = allowedDirection(pod, "outside", port, "Ingress");
        expect(open, `${pod.workload}:${port}`).toBe(
          pod.workload === "traefik" && (port === 8000 || port === 8443),
        );
      }
    }
    for (const [to, port] of [
      ["storefront", 8081],
      ["gateway", 8080],
      ["grafana", 3000],
      ["prometheus", 9090],
      ["alertmanager", 9093],
      ["traefik", 8082],
    ] as const) {
      expect(reaches("traefik", to, port), to).toBe(true);
    }
    expect(reaches("traefik", "auth", portOf("auth"))).toBe(false);
    expect(reaches("traefik", "redis", 6379)).toBe(false);
  });

  it("let only the edge, Prometheus and Promtail talk to the API server", () => {
    const withApi = policies
      .filter((p) => ((p.inputs.spec.egress ?? []) as Obj[]).some((e) => e.to?.some((t: Obj) => t.ipBlock)))
      .map((p) => p.inputs.metadata.name)
      .sort();
    expect(withApi).toEqual(["prometheus", "promtail", "traefik"]);
  });

  it("let the edge reach cert-manager's HTTP-01 solver pods, and nothing else reach them", () => {
    const solver = policies.find((p) => p.inputs.metadata.name === "acme-http01-solver")!;
    expect(solver.inputs.spec.podSelector).toEqual({
      matchLabels: { "acme.cert-manager.io/http01-solver": "true" },
    });
    expect(solver.inputs.spec.ingress).toEqual([
      {
        from: [
          {
            podSelector: {
              matchLabels: { "app.kubernetes.io/name": "traefik", "app.kubernetes.io/instance": "prod" },
            },
          },
        ],
        ports: [{ protocol: "TCP", port: 8089 }],
      },
    ]);
  });
});
