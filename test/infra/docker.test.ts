import { beforeAll, describe, expect, it } from "vitest";
import { buildPlatform, type Platform, THIRD_PARTY_IMAGES } from "../../infra/src/model/index.js";
import { APP_SERVICES, DATA_STORES, DESIGN_PARTS, OBSERVABILITY } from "../support/design.js";
import { envOf, labelOf, type RecordedResource, runStack, type StackRun, TYPES } from "./mocks.js";

const STATEFUL = ["mariadb", "redis", "rabbitmq", "minio", "elasticsearch", "prometheus", "grafana", "loki"];

let run: StackRun;
let containers: Map<string, RecordedResource>;
let platform: Platform;

/** The containers that run workloads (not the file carriers or one-shot jobs). */
function workloadContainers(r: StackRun): Map<string, RecordedResource> {
  return new Map(
    r
      .ofType(TYPES.container)
      .filter((c) => labelOf(c, "com.shopstream.role") === "workload")
      .map((c) => [labelOf(c, "com.shopstream.workload")!, c]),
  );
}

const networksOf = (c: RecordedResource): string[] =>
  (c.inputs.networksAdvanced as { name: string }[]).map((n) => n.name.replace("shopstream-dev-", "")).sort();

beforeAll(async () => {
  run = await runStack({ httpPort: 8080, httpsPort: 8443 });
  containers = workloadContainers(run);
  const { parseStackConfig, platformSettings } = await import("../../infra/src/config.js");
  platform = buildPlatform(
    platformSettings(parseStackConfig({ httpPort: "8080", httpsPort: "8443" }, "dev")),
  );
});

describe("the dev stack on one Docker host", () => {
  it("runs every part of docs/architecture.md as a container from its own image", () => {
    expect([...containers.keys()].sort()).toEqual([...DESIGN_PARTS].sort());
    const built = run.ofType(TYPES.image);
    expect(built.map((i) => i.name.replace(/^shopstream-|-image$/g, "")).sort()).toEqual(
      [...APP_SERVICES, "storefront"].sort(),
    );
    for (const image of built) {
      const service = image.name.replace(/^shopstream-|-image$/g, "");
      expect(image.inputs.imageName).toMatch(new RegExp(`^shopstream/${service}:[0-9a-f]{16}$`));
      expect(image.inputs.skipPush).toBe(true);
      expect(image.inputs.build.context).toBe(".");
      // The container runs the built image by ID (the provider reads the ID back into `image`).
      const local = run.named(TYPES.remoteImage, `shopstream-${service}-local-image`);
      expect(local.inputs).toMatchObject({ name: image.inputs.imageName, keepLocally: true });
      expect(containers.get(service)!.inputs.image).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(local.dependsOn).toContain(image.name);
    }
    expect(run.named(TYPES.image, "shopstream-order-image").inputs.build).toMatchObject({
      dockerfile: "services/Dockerfile",
      args: { SERVICE: "order" },
    });
    expect(run.named(TYPES.image, "shopstream-storefront-image").inputs.build.dockerfile).toBe(
      "services/storefront/Dockerfile",
    );
  });

  it("pins every third-party image to an exact tag", () => {
    const pulled = run
      .ofType(TYPES.remoteImage)
      .filter((r) => !r.name.endsWith("-local-image"))
      .map((r) => r.inputs.name as string);
    expect(pulled.sort()).toEqual(Object.values(THIRD_PARTY_IMAGES).sort());
    for (const ref of pulled) {
      expect(ref).toMatch(/:[\w.-]+$/);
      expect(ref).not.toMatch(/:latest$/);
    }
  });

  it("creates the seven networks, with backend, data, metrics, monitoring and tracing internal", () => {
    const networks = Object.fromEntries(
      run
        .ofType(TYPES.network)
        .map((n) => [n.inputs.name, { internal: n.inputs.internal, driver: n.inputs.driver }]),
    );
    expect(networks).toEqual({
      "shopstream-dev-traefik-public": { internal: false, driver: "bridge" },
      "shopstream-dev-frontend": { internal: false, driver: "bridge" },
      "shopstream-dev-backend": { internal: true, driver: "bridge" },
      "shopstream-dev-data": { internal: true, driver: "bridge" },
      "shopstream-dev-metrics": { internal: true, driver: "bridge" },
      "shopstream-dev-monitoring": { internal: true, driver: "bridge" },
      "shopstream-dev-tracing": { internal: true, driver: "bridge" },
    });
  });

  it("attaches each workload to exactly the networks of docs/architecture.md", () => {
    const members = (net: string) =>
      [...containers].filter(([, c]) => networksOf(c).includes(net)).map(([n]) => n);
    expect(members("traefik-public")).toEqual(["traefik"]);
    expect(members("frontend").sort()).toEqual(["gateway", "grafana", "storefront", "traefik"]);
    // Payment calls no service and no service calls it: it has no business on `backend`.
    expect(members("backend").sort()).toEqual(APP_SERVICES.filter((n) => n !== "payment").sort());
    expect(members("data")).not.toContain("storefront");
    for (const store of DATA_STORES) expect(networksOf(containers.get(store)!)).toContain("data");
    for (const n of members("data"))
      expect(["app", "data"], n).toContain(platform.workloads.find((w) => w.name === n)!.tier);
    // No app service shares a network with Grafana, Loki, Alertmanager or the edge's admin port:
    // Prometheus scrapes them (and RabbitMQ, MinIO) over `metrics`.
    expect(members("monitoring").sort()).toEqual([...OBSERVABILITY, "traefik"].sort());
    const scraped = platform.workloads.filter((w) => w.scrape).map((w) => w.name);
    for (const name of scraped)
      expect(members("metrics").concat(members("monitoring")), name).toContain(name);
    expect(members("metrics").sort()).toEqual(["prometheus", ...APP_SERVICES, "rabbitmq", "minio"].sort());
    // The services send spans to Tempo over `tracing`, where nothing else listens.
    expect(members("tracing").sort()).toEqual([...APP_SERVICES, "tempo"].sort());
    for (const w of platform.workloads)
      expect(networksOf(containers.get(w.name)!), w.name).toEqual([...w.networks].sort());
    // Other workloads reach a container by its workload name on every network it joins.
    for (const [name, c] of containers) {
      for (const n of c.inputs.networksAdvanced as { aliases: string[] }[]) expect(n.aliases).toEqual([name]);
    }
  });

  it("gives no container the Docker socket; Promtail reads the engine's log files, read-only", () => {
    for (const [name, c] of containers) {
      const binds = (c.inputs.volumes as { hostPath?: string; readOnly?: boolean }[]).filter(
        (v) => v.hostPath,
      );
      expect(JSON.stringify(binds), name).not.toContain("docker.sock");
      if (name === "promtail")
        expect(binds).toEqual([
          {
            hostPath: "/var/lib/docker/containers",
            containerPath: "/var/lib/docker/containers",
            readOnly: true,
          },
        ]);
      else expect(binds, name).toEqual([]);
      // Every line a container logs carries what Promtail labels it by.
      expect(c.inputs.logOpts, name).toMatchObject({
        labels: "com.shopstream.stack,com.shopstream.workload,com.shopstream.tier",
        tag: "{{.Name}}",
      });
    }
  });

  it("never puts a generated secret in an env value, command, entrypoint, health check or label", () => {
    expect(run.secretValues.length).toBeGreaterThan(20);
    const exposed = [...run.ofType(TYPES.container), ...run.ofType(TYPES.service)];
    for (const r of exposed) {
      const visible = JSON.stringify([
        r.inputs.envs,
        r.inputs.command,
        r.inputs.entrypoints,
        r.inputs.labels,
        r.inputs.healthcheck,
        r.inputs.taskSpec?.containerSpec?.env,
        r.inputs.taskSpec?.containerSpec?.args,
        r.inputs.taskSpec?.containerSpec?.commands,
        r.inputs.taskSpec?.containerSpec?.labels,
      ]);
      for (const secret of run.secretValues) {
        expect(
          visible.includes(secret) || visible.includes(JSON.stringify(secret).slice(1, -1)),
          `${r.name}`,
        ).toBe(false);
      }
      for (const [key, value] of Object.entries(envOf(r))) {
        if (/PASSWORD|SECRET|_KEY$|SIGNING/.test(key)) {
          expect(key, `${r.name} ${key}=${value}`).toMatch(/_FILE$/);
          expect(value).toMatch(/^\/run\/secrets\//);
        }
      }
    }
  });

  it("hands every secret over as a file owned by the workload's user", () => {
    for (const w of platform.workloads) {
      const env = envOf(containers.get(w.name)!);
      const files = run.ofType(TYPES.container).find((c) => c.name === `${w.name}-files`)?.inputs.uploads as
        | { file: string; content: string; owner: string; permissions: string }[]
        | undefined;
      for (const [key, path] of Object.entries(env).filter(([k]) => k.endsWith("_FILE"))) {
        const upload = files?.find((f) => f.file === path);
        expect(upload, `${w.name} ${key}`).toBeDefined();
        // The admin's generated address wraps its generated part: admin-<generated>@<domain>.
        const generated = upload!.content.replace(/^admin-(.+)@shopstream\.localhost$/, "$1");
        expect(run.secretValues, `${w.name} ${key}`).toContain(generated);
        expect(upload!.permissions).toBe("0400");
        expect(run.ofType(TYPES.container).find((c) => c.name === `${w.name}-files`)!.secretInputs).toContain(
          "uploads",
        );
        expect(upload!.owner).toBe((w.user ?? "0").split(":")[0]);
      }
    }
    const auth = run.named(TYPES.container, "auth-files").inputs.uploads as {
      file: string;
      content: string;
    }[];
    expect(auth.find((u) => u.file === "/run/secrets/jwt-signing-key")!.content).toContain(
      "BEGIN PRIVATE KEY",
    );
  });

  it("mounts the files read-only from a never-started carrier, so read-only root filesystems still get them", () => {
    for (const [name, c] of containers) {
      const carrier = run.ofType(TYPES.container).find((x) => x.name === `${name}-files`);
      if (!carrier) continue;
      expect(carrier.inputs.start).toBe(false);
      expect(carrier.inputs.mustRun).toBe(false);
      // Docker's own `:ro`: the provider ignores `readOnly` on a volumes-from entry.
      expect(c.inputs.volumes).toContainEqual({ fromContainer: `${carrier.name}-id:ro` });
      expect(c.dependsOn).toContain(carrier.name);
      const dirs = (carrier.inputs.volumes as { containerPath: string }[]).map((v) => v.containerPath);
      for (const u of carrier.inputs.uploads as { file: string }[]) {
        expect(
          dirs.some((d) => u.file.startsWith(`${d}/`)),
          u.file,
        ).toBe(true);
      }
    }
  });

  it("gives every workload a health check, a restart policy, a memory limit and a non-root user where the image allows", () => {
    for (const w of platform.workloads) {
      const c = containers.get(w.name)!.inputs;
      expect(c.healthcheck.tests[0], w.name).toBe("CMD");
      expect(c.wait, w.name).toBe(true);
      expect(c.restart).toBe("unless-stopped");
      expect(c.memory).toBe(w.resources.memoryMiB);
      expect(c.privileged).toBeUndefined();
      expect(c.capabilities).toEqual({ drops: ["ALL"] });
      expect(c.readOnly).toBe(w.readOnlyRootFilesystem);
      if (w.name !== "promtail") expect(c.user, w.name).toMatch(/^[1-9]\d*:\d+$/);
    }
    for (const app of [...APP_SERVICES, "storefront"]) {
      const c = containers.get(app)!.inputs;
      expect(c.readOnly).toBe(true);
      expect(Object.keys(c.tmpfs)).toEqual(["/tmp"]);
    }
    expect(containers.get("gateway")!.inputs.healthcheck.tests.join(" ")).toContain(
      "/dev/tcp/127.0.0.1/8080 && printf 'GET /health ",
    );
  });

  it("starts a workload only after everything it depends on is healthy", () => {
    for (const w of platform.workloads) {
      const c = containers.get(w.name)!;
      for (const dep of w.dependsOn) {
        expect(c.dependsOn, `${w.name} after ${dep}`).toContain(dep);
        expect(containers.get(dep)!.inputs.wait).toBe(true);
      }
    }
    expect(containers.get("order")!.dependsOn).toEqual(
      expect.arrayContaining(["mariadb", "rabbitmq", "product", "cart"]),
    );
  });

  it("keeps the data of every stateful part in a named volume", () => {
    for (const name of STATEFUL) {
      const c = containers.get(name)!;
      const named = (c.inputs.volumes as { volumeName?: string }[]).filter((v) => v.volumeName);
      expect(named.length, name).toBeGreaterThan(0);
      expect(labelOf(c, "com.shopstream.stateful")).toBe("true");
    }
    const volumes = run.ofType(TYPES.volume).map((v) => v.inputs.name);
    expect(volumes).toEqual(expect.arrayContaining(STATEFUL.map((s) => `shopstream-dev-${s}-data`)));
    for (const v of run.ofType(TYPES.volume)) expect(v.protect).toBe(false);
  });

  it("hands the volumes of images without the directory to the workload's user first", () => {
    const owner = run.named(TYPES.container, "shopstream-minio-data-owner");
    expect(owner.inputs.command).toEqual(["chown", "-R", "1000:1000", "/volume"]);
    expect(owner.inputs.attach).toBe(true);
    expect(containers.get("minio")!.dependsOn).toContain("shopstream-minio-data-owner");
  });

  it("publishes ports on Traefik only", () => {
    for (const [name, c] of containers) {
      const ports = c.inputs.ports as { internal: number; external: number }[];
      if (name === "traefik") {
        expect(ports).toEqual([
          { internal: 8000, external: 8080 },
          { internal: 8443, external: 8443 },
        ]);
      } else {
        expect(ports, name).toEqual([]);
      }
    }
  });

  it("creates every Docker object through one explicit provider", () => {
    const providers = run.ofType(TYPES.provider);
    expect(providers).toHaveLength(1);
    for (const r of run.resources.filter((x) => x.type.startsWith("docker:"))) {
      expect(r.provider, r.name).toContain(`::${providers[0]!.name}::`);
    }
  });

  it("reports the URLs, the images and the passwords as stack outputs", () => {
    expect(run.outputs).toMatchObject({
      storefrontUrl: "https://shopstream.localhost:8443/",
      apiUrl: "https://shopstream.localhost:8443/api",
      grafanaUrl: "https://grafana.shopstream.localhost:8443/",
      traefikDashboardUrl: "https://traefik.shopstream.localhost:8443/dashboard/",
      prometheusUrl: "https://prometheus.shopstream.localhost:8443/",
      alertmanagerUrl: "https://alertmanager.shopstream.localhost:8443/",
    });
    expect(run.secretValues).toContain(run.outputs.grafanaAdminPassword);
    expect(run.secretValues).toContain(run.outputs.dashboardPassword);
    const images = run.outputs.images as Record<string, string>;
    for (const app of APP_SERVICES)
      expect(images[app]).toMatch(new RegExp(`^shopstream/${app}:[0-9a-f]{16}$`));
    expect(images.mariadb).toBe(THIRD_PARTY_IMAGES.mariadb);
  });
});

describe("the files the dev stack ships", () => {
  const yamlName = "js-yaml";
  const uploaded = async (workload: string, path: string) => {
    const yaml = (await import(yamlName)) as { load(text: string): unknown };
    const uploads = run.named(TYPES.container, `${workload}-files`).inputs.uploads as {
      file: string;
      content: string;
    }[];
    const file = uploads.find((u) => u.file === path);
    if (!file) throw new Error(`${workload} gets no ${path}`);
    return yaml.load(file.content);
  };

  it("has Prometheus scrape every app service at its real port", async () => {
    const config = (await uploaded("prometheus", "/etc/prometheus/prometheus.yml")) as {
      scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
    };
    for (const app of APP_SERVICES) {
      const w = platform.workloads.find((x) => x.name === app)!;
      const job = config.scrape_configs.find((j) => j.job_name === app);
      expect(job?.static_configs[0]?.targets, app).toEqual([`${app}:${w.ports[0]!.port}`]);
    }
  });

  it("has Traefik route every public route to a port its workload listens on", async () => {
    const dynamic = (await uploaded("traefik", "/etc/traefik/dynamic/shopstream.yml")) as {
      http: {
        routers: Record<string, { service: string }>;
        services: Record<string, { loadBalancer: { servers: { url: string }[] } }>;
      };
    };
    const routed = platform.workloads.filter((w) => w.routes.length > 0 && w.tier !== "edge");
    expect(routed.map((w) => w.name).sort()).toEqual([
      "alertmanager",
      "gateway",
      "grafana",
      "prometheus",
      "storefront",
    ]);
    for (const w of routed) {
      const service = dynamic.http.services[dynamic.http.routers[w.name]!.service]!;
      const url = new URL(service.loadBalancer.servers[0]!.url);
      expect(url.hostname).toBe(w.name);
      expect(w.ports.map((p) => p.port)).toContain(Number(url.port));
      // The target container is on a network Traefik is on.
      expect(
        networksOf(containers.get(w.name)!).some((n) => networksOf(containers.get("traefik")!).includes(n)),
      ).toBe(true);
    }
  });
});

describe("stack variants", () => {
  it("pulls third-party images through the configured mirror and pushes to the registry", async () => {
    const r = await runStack({
      registryMirror: "mirror.example.com",
      registry: { server: "registry.example.com/shop", push: true },
    });
    for (const image of r.ofType(TYPES.remoteImage).filter((i) => !i.name.endsWith("-local-image")))
      expect(image.inputs.name).toMatch(/^mirror\.example\.com\//);
    const order = r.named(TYPES.image, "shopstream-order-image");
    expect(order.inputs.imageName).toMatch(/^registry\.example\.com\/shop\/order:[0-9a-f]{16}$/);
    expect(order.inputs.skipPush).toBe(false);
  });

  it("leaves out the observability stack, Elasticsearch and MinIO when they are switched off", async () => {
    const r = await runStack({ observability: false, search: "mariadb", images: "local" });
    const names = [...workloadContainers(r).keys()];
    for (const gone of [...OBSERVABILITY, "elasticsearch", "minio"]) expect(names).not.toContain(gone);
    expect(r.outputs.grafanaUrl).toBeUndefined();
    expect(envOf(workloadContainers(r).get("product")!).IMAGES_DIR).toBe("/data/images");
  });

  it("protects the stateful volumes when asked to", async () => {
    const r = await runStack({ protect: true });
    for (const v of r.ofType(TYPES.volume)) expect(v.protect, v.name).toBe(true);
  });

  it("publishes the data stores on 127.0.0.1 only when debug ports are on", async () => {
    const r = await runStack({ docker: { debugPorts: true } });
    const c = workloadContainers(r);
    expect(c.get("mariadb")!.inputs.ports).toEqual([{ internal: 3306, external: 3306, ip: "127.0.0.1" }]);
    expect(c.get("gateway")!.inputs.ports).toEqual([]);
  });
});
