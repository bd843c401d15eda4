/**
 * A canary release on the Kubernetes target (the prod stack) under Pulumi's mocks: a second
 * Deployment and Service from the release image, Traefik weighing the route between the two
 * Services (its file provider: an Ingress cannot weigh), the pods and their logs labelled by
 * version, and NetworkPolicies that let the canary do exactly what the stable does.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { CANARY_COOKIE, CANARY_ROUTER_PRIORITY } from "../../infra/src/config-files/index.js";
import type { StackRun } from "../infra/mocks.js";
import { containerOf, controllerOf, K8S, type Obj, runProd } from "./prod.js";

const yamlName = "js-yaml";
const yaml = (await import(yamlName)) as { load(text: string): unknown };

const IMAGE = "ghcr.io/example/shopstream/gateway:2a9f0c1";
let run: StackRun;

beforeAll(async () => {
  run = await runProd({ canary: { service: "gateway", image: IMAGE, weight: 25, replicas: 2 } });
});

function mounted(file: string): Obj {
  const cm = run.ofType(K8S.configMap).find((c) => file in c.inputs.data);
  if (!cm) throw new Error(`no ConfigMap holds ${file}`);
  return yaml.load(cm.inputs.data[file]) as Obj;
}

const named = (type: string, name: string) => run.ofType(type).find((r) => r.inputs.metadata?.name === name);

describe("a canary of the gateway on Kubernetes", () => {
  it("is a Deployment of its own from the release image, with its own Service and pod labels", () => {
    const stable = controllerOf(run, "gateway");
    const second = controllerOf(run, "gateway-canary");
    expect(second.type).toBe(K8S.deployment);
    expect(second.inputs.spec.replicas).toBe(2);
    expect(containerOf(second).image).toBe(IMAGE);
    const labels = second.inputs.spec.template.metadata.labels;
    expect(labels["app.kubernetes.io/name"]).toBe("gateway-canary");
    expect(labels["app.kubernetes.io/version"]).toBe("2a9f0c1");
    expect(stable.inputs.spec.template.metadata.labels["app.kubernetes.io/version"]).toBe("stable");
    // The stable's Service never selects the canary's pods, nor the other way round.
    expect(named(K8S.service, "gateway")!.inputs.spec.selector["app.kubernetes.io/name"]).toBe("gateway");
    expect(named(K8S.service, "gateway-canary")!.inputs.spec.selector["app.kubernetes.io/name"]).toBe(
      "gateway-canary",
    );
    const env = (c: Obj) => Object.fromEntries((c.env as Obj[]).map((e) => [e.name, e.value]));
    const { SERVICE_VERSION: v1, ...stableEnv } = env(containerOf(stable));
    const { SERVICE_VERSION: v2, ...canaryEnv } = env(containerOf(second));
    expect([v1, v2]).toEqual(["stable", "2a9f0c1"]);
    expect(canaryEnv).toEqual(stableEnv);
    // The stable keeps its autoscaler; the canary runs the replicas it was given.
    expect(named(K8S.hpa, "gateway")).toBeDefined();
    expect(named(K8S.hpa, "gateway-canary")).toBeUndefined();
  });

  it("has Traefik weigh the API route between the two Services, ahead of the Ingress's router", () => {
    const dynamic = mounted("traefik-dynamic");
    expect(dynamic.http.routers.gateway).toEqual({
      rule: "Host(`shop.example.com`) && PathPrefix(`/api`)",
      entryPoints: ["websecure"],
      service: "gateway-http-release",
      tls: {},
      priority: CANARY_ROUTER_PRIORITY,
    });
    expect(dynamic.http.services["gateway-http-release"].weighted).toEqual({
      services: [
        { name: "gateway-http", weight: 75 },
        { name: "gateway-canary-http", weight: 25 },
      ],
      sticky: { cookie: { name: CANARY_COOKIE, secure: true, httpOnly: true, sameSite: "lax" } },
    });
    expect(dynamic.http.services["gateway-http"].loadBalancer.servers).toEqual([
      { url: "http://gateway.shopstream.svc:8080" },
    ]);
    expect(dynamic.http.services["gateway-canary-http"].loadBalancer.servers).toEqual([
      { url: "http://gateway-canary.shopstream.svc:8080" },
    ]);
    // The Ingress still carries the host (and with it cert-manager's certificate) unchanged.
    const app = named(K8S.ingress, "app")!.inputs;
    expect(app.spec.rules[0].http.paths.map((p: Obj) => p.backend.service.name)).toEqual([
      "gateway",
      "storefront",
    ]);
    expect(app.spec.tls).toEqual([{ hosts: ["shop.example.com"], secretName: "app-tls" }]);
  });

  it("lets the canary's pods make and take exactly the stable's connections", () => {
    const policy = (name: string) => named(K8S.networkPolicy, name)!.inputs.spec;
    const rename = (spec: Obj) =>
      JSON.parse(JSON.stringify(spec).replaceAll('"gateway-canary"', '"gateway"')) as Obj;
    expect(rename(policy("gateway-canary"))).toEqual(policy("gateway"));
    // The services that take the gateway's calls take the canary's.
    const order = JSON.stringify(policy("order").ingress);
    expect(order).toContain('"gateway-canary"');
  });

  it("labels the canary's log lines with its version, from the pod label", () => {
    const promtail = mounted("promtail-config");
    expect(promtail.scrape_configs[0].relabel_configs).toContainEqual({
      source_labels: ["__meta_kubernetes_pod_label_app_kubernetes_io_version"],
      target_label: "version",
    });
  });

  it("promotes with weight 100: the route goes to the canary's Service alone", async () => {
    const promoted = await runProd({ canary: { service: "gateway", image: IMAGE, weight: 100 } });
    const cm = promoted.ofType(K8S.configMap).find((c) => "traefik-dynamic" in c.inputs.data)!;
    const dynamic = yaml.load(cm.inputs.data["traefik-dynamic"]) as Obj;
    expect(dynamic.http.routers.gateway.service).toBe("gateway-canary-http");
  }, 120_000);
});
