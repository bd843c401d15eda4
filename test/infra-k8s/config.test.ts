import { describe, expect, it } from "vitest";
import { parseStackConfig, platformSettings } from "../../infra/src/config.js";
import { runStack } from "../infra/mocks.js";
import { prodSettings } from "./prod.js";

const raw = (settings: Record<string, unknown>) =>
  Object.fromEntries(
    Object.entries(settings).map(([k, v]) => [k, typeof v === "object" ? JSON.stringify(v) : String(v)]),
  );
const KUBERNETES = { target: "kubernetes", registry: { server: "registry.example.com/shop", push: true } };

describe("the Kubernetes settings", () => {
  it("accept Pulumi.prod.yaml as it is: Kubernetes, cert-manager TLS, a registry, two replicas, protected data", () => {
    const config = parseStackConfig(raw(prodSettings()), "prod");
    expect(config.target).toBe("kubernetes");
    expect(config.kubernetes).toEqual({
      namespace: "shopstream",
      serviceType: "LoadBalancer",
      edgeReplicas: 2,
    });
    expect(config.tls).toEqual({ mode: "cert-manager", clusterIssuer: "letsencrypt-prod" });
    expect(config.registry).toEqual({ server: "ghcr.io/example/shopstream", push: true });
    expect(config.protect).toBe(true);
    const settings = platformSettings(config);
    expect(settings.appReplicas).toBe(2);
    expect(settings.maxReplicas).toBe(6);
    expect(settings.edgeReplicas).toBe(2);
    expect(settings.hosts.app).toBe("shop.example.com");
    expect(settings.publicPort).toBe(443);
  });

  it("default to one namespace, a load balancer, two edge replicas (one with ACME)", () => {
    const config = parseStackConfig(raw(KUBERNETES), "prod");
    expect(config.kubernetes).toEqual({ namespace: "shopstream", serviceType: "LoadBalancer" });
    expect(platformSettings(config).edgeReplicas).toBe(2);
    const acme = parseStackConfig(
      raw({ ...KUBERNETES, domain: "shop.example.com", tls: { mode: "acme", acmeEmail: "ops@example.com" } }),
      "prod",
    );
    expect(platformSettings(acme).edgeReplicas).toBe(1);
    // The Docker target keeps its single edge.
    expect(platformSettings(parseStackConfig({}, "dev")).edgeReplicas).toBeUndefined();
  });

  it.each([
    [{ target: "kubernetes" }, "shopstream:registry.server is required when target is kubernetes"],
    [
      { ...KUBERNETES, registry: { server: "registry.example.com" } },
      "shopstream:registry.push must be true when target is kubernetes",
    ],
    [
      { ...KUBERNETES, tls: { mode: "cert-manager" } },
      "shopstream:tls.clusterIssuer is required when tls.mode is cert-manager",
    ],
    [
      { tls: { mode: "cert-manager", clusterIssuer: "x" } },
      "shopstream:tls.mode cert-manager needs target kubernetes",
    ],
    [
      { ...KUBERNETES, tls: { mode: "cert-manager", clusterIssuer: "Lets Encrypt" } },
      "shopstream:tls.clusterIssuer must be a lower-case Kubernetes name",
    ],
    [
      {
        ...KUBERNETES,
        domain: "shop.example.com",
        tls: { mode: "acme", acmeEmail: "ops@example.com" },
        kubernetes: { edgeReplicas: 3 },
      },
      "shopstream:kubernetes.edgeReplicas must be 1 with tls.mode acme",
    ],
    [
      { ...KUBERNETES, kubernetes: { namespace: "Shop_Stream" } },
      "shopstream:kubernetes.namespace must be a lower-case DNS label",
    ],
    [
      { ...KUBERNETES, kubernetes: { edgeReplicas: 0 } },
      "shopstream:kubernetes.edgeReplicas must be an integer between 1 and 10",
    ],
    [
      { ...KUBERNETES, kubernetes: { serviceType: "ClusterIP" } },
      "shopstream:kubernetes.serviceType must be one of LoadBalancer, NodePort",
    ],
    [
      { ...KUBERNETES, kubernetes: { namspace: "shop" } },
      "shopstream:kubernetes.namspace is not a known setting",
    ],
  ])("stop the program before any resource when %j, naming the key", async (settings, message) => {
    await expect(runStack(settings, "prod")).rejects.toThrow(message);
  });
});
