import { beforeAll, describe, expect, it } from "vitest";
import { envOf, labelOf, type RecordedResource, runStack, type StackRun, TYPES } from "./mocks.js";

let run: StackRun;
let services: Map<string, RecordedResource>;

const STATEFUL = [
  "mariadb",
  "redis",
  "rabbitmq",
  "minio",
  "elasticsearch",
  "prometheus",
  "alertmanager",
  "grafana",
  "loki",
];
const STATELESS = [
  "gateway",
  "auth",
  "product",
  "cart",
  "order",
  "payment",
  "notification",
  "analytics",
  "storefront",
];

beforeAll(async () => {
  run = await runStack({
    docker: { swarm: true, dataNode: "node-1" },
    appReplicas: 3,
    registry: { server: "registry.example.com", push: true },
  });
  services = new Map(run.ofType(TYPES.service).map((s) => [labelOf(s, "com.shopstream.workload")!, s]));
});

describe("the same model as Swarm services", () => {
  it("runs every workload as a service and no container but the volume preparation", () => {
    expect(services.size).toBe(22);
    expect(run.ofType(TYPES.container).map((c) => labelOf(c, "com.shopstream.role"))).toEqual([
      "volume-owner",
      "volume-owner",
    ]);
  });

  it("uses overlay networks that no stray container can attach to, internal as docs/architecture.md says", () => {
    for (const n of run.ofType(TYPES.network)) {
      expect(n.inputs.driver).toBe("overlay");
      expect(n.inputs.attachable).toBe(false);
      expect(n.inputs.internal).toBe(/backend|data|metrics|monitoring|tracing/.test(n.inputs.name));
    }
  });

  it("replicates stateless services and updates them one at a time, new task first, rolling back on failure", () => {
    for (const name of STATELESS) {
      const s = services.get(name)!.inputs;
      expect(s.mode, name).toEqual({ replicated: { replicas: 3 } });
      expect(s.updateConfig, name).toMatchObject({
        parallelism: 1,
        order: "start-first",
        failureAction: "rollback",
      });
      expect(s.rollbackConfig, name).toMatchObject({ parallelism: 1, order: "start-first" });
      expect(s.taskSpec.restartPolicy).toMatchObject({ condition: "any" });
      // The scheduler spreads a service's tasks over nodes by itself; no (ignored) preference.
      expect(s.taskSpec.placement, name).toBeUndefined();
    }
  });

  it("keeps stateful parts and the edge on the configured node, single, and never runs two tasks on one volume", () => {
    for (const name of [...STATEFUL, "traefik"]) {
      const s = services.get(name)!.inputs;
      expect(s.taskSpec.placement, name).toEqual({ constraints: ["node.hostname==node-1"] });
      expect(s.mode, name).toEqual({ replicated: { replicas: 1 } });
    }
    for (const name of STATEFUL) {
      const s = services.get(name)!.inputs;
      expect(s.updateConfig, name).toMatchObject({ order: "stop-first", failureAction: "rollback" });
      expect(
        s.taskSpec.containerSpec.mounts.some((m: { type: string }) => m.type === "volume"),
        name,
      ).toBe(true);
    }
  });

  it("runs the log collector on every node", () => {
    expect(services.get("promtail")!.inputs.mode).toEqual({ global: true });
    // One per node, each tailing its node's log files; no task gets the Docker socket.
    for (const [name, svc] of services) {
      const mounts = svc.inputs.taskSpec.containerSpec.mounts as { type: string; source?: string }[];
      expect(JSON.stringify(mounts), name).not.toContain("docker.sock");
      expect(svc.inputs.taskSpec.logDriver.options, name).toMatchObject({ tag: "{{.Name}}" });
    }
    expect(services.get("promtail")!.inputs.taskSpec.containerSpec.mounts).toContainEqual({
      type: "bind",
      source: "/var/lib/docker/containers",
      target: "/var/lib/docker/containers",
      readOnly: true,
    });
  });

  it("delivers secrets as Docker secrets and generated files as Docker configs", () => {
    const order = services.get("order")!.inputs.taskSpec.containerSpec;
    const env = envOf(services.get("order")!);
    expect(env.DB_PASSWORD_FILE).toBe("/run/secrets/db-password-order");
    expect(order.secrets).toContainEqual(
      expect.objectContaining({
        fileName: "/run/secrets/db-password-order",
        fileUid: "1000",
        fileMode: 0o400,
      }),
    );
    const secretData = run
      .ofType(TYPES.secret)
      .map((s) => Buffer.from(s.inputs.data, "base64").toString("utf8"));
    for (const s of run.ofType(TYPES.secret)) expect(s.secretInputs, s.name).toContain("data");
    expect(secretData.some((d) => run.secretValues.includes(d))).toBe(true);
    expect(secretData.some((d) => d.includes("rabbit_password_hashing_sha256"))).toBe(true);
    const prometheus = services.get("prometheus")!.inputs.taskSpec.containerSpec;
    expect(prometheus.configs).toContainEqual(
      expect.objectContaining({ fileName: "/etc/prometheus/prometheus.yml", fileMode: 0o444 }),
    );
    const config = run
      .ofType(TYPES.serviceConfig)
      .find((c) => String(c.inputs.dataRaw).includes("scrape_configs"))!;
    expect(config.inputs.dataRaw).toContain("tasks.shopstream-dev-gateway");
    for (const c of run.ofType(TYPES.serviceConfig)) {
      for (const secret of run.secretValues) expect(String(c.inputs.dataRaw)).not.toContain(secret);
    }
  });

  it("gives every service a health check, memory limits and reservations, and waits for it to converge", () => {
    for (const [name, s] of services) {
      expect(s.inputs.taskSpec.containerSpec.healthcheck.tests[0], name).toBe("CMD");
      expect(s.inputs.taskSpec.resources.limits.memoryBytes, name).toBeGreaterThan(0);
      // The provider refuses a converge configuration on a global service.
      if (name === "promtail") expect(s.inputs.convergeConfig, name).toBeUndefined();
      else expect(s.inputs.convergeConfig, name).toBeDefined();
    }
    expect(services.get("order")!.dependsOn).toEqual(
      expect.arrayContaining(["mariadb", "rabbitmq", "product"]),
    );
  });

  it("publishes ports on Traefik only and runs the pushed images by digest", () => {
    for (const [name, s] of services) {
      if (name === "traefik") {
        expect(s.inputs.endpointSpec.ports.map((p: { publishedPort: number }) => p.publishedPort)).toEqual([
          80, 443,
        ]);
      } else {
        expect(s.inputs.endpointSpec, name).toBeUndefined();
      }
    }
    expect(services.get("cart")!.inputs.taskSpec.containerSpec.image).toMatch(
      /^registry\.example\.com\/cart:[0-9a-f]{16}@sha256:/,
    );
  });
});
