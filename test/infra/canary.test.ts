/**
 * A canary release on the Docker target, one host and Swarm, under Pulumi's mocks: the second
 * version runs beside the first from its own image, the edge weighs the route between the two,
 * both say their version, and promoting or rolling back is a change of one setting.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { parseStackConfig, versionOfImage } from "../../infra/src/config.js";
import { CANARY_COOKIE } from "../../infra/src/config-files/index.js";
import { envOf, labelOf, type RecordedResource, runStack, type StackRun, TYPES } from "./mocks.js";

const yamlName = "js-yaml";
const yaml = (await import(yamlName)) as { load(text: string): unknown };

const IMAGE = "registry.example.com/shopstream/gateway:2a9f0c1";
const canary = (weight: number, extra: Record<string, unknown> = {}) => ({
  canary: { service: "gateway", image: IMAGE, weight, ...extra },
});

// biome-ignore lint/suspicious/noExplicitAny: generated configuration documents
type Doc = Record<string, any>;

/** The Traefik dynamic configuration the edge container reads (one host). */
function dynamicConfig(run: StackRun): Doc {
  const uploads = run.named(TYPES.container, "traefik-files").inputs.uploads as {
    file: string;
    content: string;
  }[];
  const file = uploads.find((u) => u.file === "/etc/traefik/dynamic/shopstream.yml");
  if (!file) throw new Error("the edge gets no dynamic configuration");
  return yaml.load(file.content) as Doc;
}

const containerOf = (run: StackRun, workload: string): RecordedResource => {
  const found = run
    .ofType(TYPES.container)
    .filter(
      (c) =>
        labelOf(c, "com.shopstream.workload") === workload &&
        labelOf(c, "com.shopstream.role") === "workload",
    );
  if (found.length !== 1) throw new Error(`${found.length} containers run ${workload}`);
  return found[0]!;
};

let run: StackRun;
beforeAll(async () => {
  run = await runStack(canary(20));
});

describe("a canary of the gateway on one Docker host", () => {
  it("runs the second version from its own image beside the first, with the same settings", () => {
    const stable = containerOf(run, "gateway");
    const second = containerOf(run, "gateway-canary");
    expect(second.inputs.name).toBe("shopstream-dev-gateway-canary");
    // Its image is the release named in the setting, pulled (never built) and pinned by ID.
    const pulled = run.ofType(TYPES.remoteImage).find((i) => i.inputs.name === IMAGE);
    expect(pulled, "the canary's image is pulled").toBeDefined();
    expect(run.ofType(TYPES.image).map((i) => i.inputs.imageName)).not.toContain(IMAGE);
    // The same env but the version, the same networks, limits and hardening.
    const { SERVICE_VERSION: v1, ...stableEnv } = envOf(stable);
    const { SERVICE_VERSION: v2, ...canaryEnv } = envOf(second);
    expect(v1).toBe("stable");
    expect(v2).toBe("2a9f0c1");
    expect(canaryEnv).toEqual(stableEnv);
    for (const key of ["memory", "cpus", "readOnly", "capabilities", "user", "healthcheck"])
      expect(second.inputs[key], key).toEqual(stable.inputs[key]);
    const networks = (c: RecordedResource) => c.inputs.networksAdvanced.map((n: Doc) => n.name);
    expect(networks(second)).toEqual(networks(stable));
    // Reached by a name of its own, so the edge can address each version.
    expect(second.inputs.networksAdvanced[0].aliases).toEqual(["gateway-canary"]);
    // Each container says which version it runs.
    expect(labelOf(stable, "com.shopstream.version")).toBe("stable");
    expect(labelOf(second, "com.shopstream.version")).toBe("2a9f0c1");
    // The outputs name the image each runs.
    expect((run.outputs.images as Record<string, string>)["gateway-canary"]).toBe(IMAGE);
  });

  it("has the edge weigh the shop's API route between the two versions, sticky per browser", () => {
    const dynamic = dynamicConfig(run);
    expect(dynamic.http.routers.gateway.service).toBe("gateway-http-release");
    expect(dynamic.http.services["gateway-http-release"]).toEqual({
      weighted: {
        services: [
          { name: "gateway-http", weight: 80 },
          { name: "gateway-canary-http", weight: 20 },
        ],
        sticky: { cookie: { name: CANARY_COOKIE, secure: true, httpOnly: true, sameSite: "lax" } },
      },
    });
    expect(dynamic.http.services["gateway-http"].loadBalancer.servers).toEqual([
      { url: "http://gateway:8080" },
    ]);
    expect(dynamic.http.services["gateway-canary-http"].loadBalancer.servers).toEqual([
      { url: "http://gateway-canary:8080" },
    ]);
    // The storefront is untouched.
    expect(dynamic.http.routers.storefront.service).toBe("storefront-http");
  });

  it("labels both versions' metrics under the one service, and their logs by version", () => {
    const uploads = run.named(TYPES.container, "prometheus-files").inputs.uploads as {
      file: string;
      content: string;
    }[];
    const prometheus = yaml.load(uploads.find((u) => u.file.endsWith("prometheus.yml"))!.content) as Doc;
    const job = (name: string) => prometheus.scrape_configs.find((j: Doc) => j.job_name === name);
    expect(job("gateway-canary").static_configs).toEqual([{ targets: ["gateway-canary:8080"] }]);
    expect(job("gateway-canary").relabel_configs).toContainEqual({
      target_label: "service",
      replacement: "gateway",
    });
    const promtailUploads = run.named(TYPES.container, "promtail-files").inputs.uploads as {
      file: string;
      content: string;
    }[];
    const promtail = yaml.load(promtailUploads[0]!.content) as Doc;
    const stages = promtail.scrape_configs[0].pipeline_stages as Doc[];
    expect(stages).toContainEqual({ labels: { level: null, version: null } });
  });

  it("lets whoever trusts the gateway's forwarded-for headers trust the canary's too", () => {
    expect(envOf(containerOf(run, "order")).TRUST_PROXY).toBe(
      "dns:gateway,dns:tasks.gateway,dns:gateway-canary,dns:tasks.gateway-canary",
    );
    expect(envOf(containerOf(run, "gateway-canary")).TRUST_PROXY).toBe(
      envOf(containerOf(run, "gateway")).TRUST_PROXY,
    );
  });

  it("shares the stable's Redis users instead of declaring second ones", () => {
    const second = envOf(containerOf(run, "gateway-canary"));
    expect(second.REDIS_USERNAME).toBe("shopstream-gateway");
    expect(second.REDIS_PASSWORD_FILE).toBe("/run/secrets/redis-password-gateway");
    // The catalog cache's instance too: the same subscribe-only user.
    expect(second.CATALOG_REDIS_USERNAME).toBe("shopstream-gateway-cache");
    expect(second.CATALOG_REDIS_PASSWORD_FILE).toBe("/run/secrets/redis-password-gateway-cache");
    const passwords = run.ofType(TYPES.password).map((p) => p.name);
    for (const secret of ["redis-password-gateway", "redis-password-gateway-cache"])
      expect(
        passwords.filter((n) => n.endsWith(secret)),
        secret,
      ).toHaveLength(1);
  });

  it("promotes with weight 100 and rolls back with weight 0: one route, the canary still running", async () => {
    const promoted = dynamicConfig(await runStack(canary(100)));
    expect(promoted.http.routers.gateway.service).toBe("gateway-canary-http");
    expect(promoted.http.services["gateway-http-release"]).toBeUndefined();
    const rolledBack = await runStack(canary(0));
    expect(dynamicConfig(rolledBack).http.routers.gateway.service).toBe("gateway-http");
    expect(containerOf(rolledBack, "gateway-canary")).toBeDefined();
  }, 120_000);

  it("without the setting runs one version with no version label, as before", async () => {
    const run = await runStack();
    expect(
      run.ofType(TYPES.container).some((c) => labelOf(c, "com.shopstream.workload") === "gateway-canary"),
    ).toBe(false);
    expect(envOf(containerOf(run, "gateway")).SERVICE_VERSION).toBeUndefined();
    expect(dynamicConfig(run).http.routers.gateway.service).toBe("gateway-http");
  }, 120_000);

  it("a storefront canary splits the shop's pages the same way", async () => {
    const run = await runStack({
      canary: {
        service: "storefront",
        image: "registry.example.com/shopstream/storefront:2a9f0c1",
        weight: 5,
      },
    });
    const dynamic = dynamicConfig(run);
    expect(dynamic.http.routers.storefront.service).toBe("storefront-http-release");
    expect(dynamic.http.services["storefront-http-release"].weighted.services).toEqual([
      { name: "storefront-http", weight: 95 },
      { name: "storefront-canary-http", weight: 5 },
    ]);
  }, 120_000);
});

describe("a canary of the gateway on Swarm", () => {
  it("is a service of its own with its replicas, running the release image by reference", async () => {
    const run = await runStack({
      docker: { swarm: true, dataNode: "node-1" },
      appReplicas: 3,
      registry: { server: "registry.example.com", push: true },
      ...canary(10, { replicas: 2, version: "1.5.0", stableVersion: "1.4.2" }),
    });
    const services = new Map(
      run.ofType(TYPES.service).map((s) => [labelOf(s, "com.shopstream.workload")!, s]),
    );
    const second = services.get("gateway-canary")!.inputs;
    expect(second.mode).toEqual({ replicated: { replicas: 2 } });
    expect(second.taskSpec.containerSpec.image).toBe(IMAGE);
    expect(second.taskSpec.containerSpec.env.SERVICE_VERSION).toBe("1.5.0");
    expect(services.get("gateway")!.inputs.taskSpec.containerSpec.env.SERVICE_VERSION).toBe("1.4.2");
    expect(second.updateConfig).toMatchObject({ order: "start-first", failureAction: "rollback" });
    const config = run
      .ofType(TYPES.serviceConfig)
      .map((c) => String(c.inputs.dataRaw))
      .find((c) => c.includes("gateway-http-release"));
    const dynamic = yaml.load(config!) as Doc;
    expect(dynamic.http.services["gateway-http-release"].weighted.services).toEqual([
      { name: "gateway-http", weight: 90 },
      { name: "gateway-canary-http", weight: 10 },
    ]);
  }, 120_000);
});

describe("the canary setting", () => {
  it.each([
    [{ service: "order", image: IMAGE }, "shopstream:canary.service must be gateway or storefront"],
    [{ service: "gateway", image: "gateway" }, "shopstream:canary.image must be an image reference"],
    [
      { service: "gateway", image: "registry.example.com/gateway" },
      "shopstream:canary.image must name a tag or a digest",
    ],
    [
      { service: "gateway", image: IMAGE, weight: 101 },
      "shopstream:canary.weight must be an integer between 0 and 100",
    ],
    [
      { service: "gateway", image: "registry.example.com/gateway:latest" },
      "shopstream:canary.image must name a release",
    ],
    [
      { service: "gateway", image: "registry.example.com/gateway:stable" },
      "shopstream:canary.version must differ from canary.stableVersion",
    ],
    [{ service: "gateway", image: IMAGE, wieght: 5 }, "shopstream:canary.wieght is not a known setting"],
  ])("stops the program when %j", async (value, message) => {
    await expect(runStack({ canary: value })).rejects.toThrow(message);
  });

  it("takes the version from the image's tag, or its digest", () => {
    expect(versionOfImage("ghcr.io/acme/shopstream/gateway:1.5.0")).toBe("1.5.0");
    expect(versionOfImage(`localhost:5000/gateway@sha256:${"ab".repeat(32)}`)).toBe("sha256-abababababab");
    expect(versionOfImage(`localhost:5000/gateway:rc1@sha256:${"ab".repeat(32)}`)).toBe("rc1");
    const c = parseStackConfig({ canary: JSON.stringify({ service: "gateway", image: IMAGE }) }, "dev");
    expect(c.canary).toMatchObject({ weight: 10, stableVersion: "stable", replicas: 1 });
  });
});
