import { beforeAll, describe, expect, it } from "vitest";
import { evaluate, isPinned, RESOURCE_RULES, type ResourceInputs } from "../../policy/rules.js";
import { labelOf, type RecordedResource, runStack, TYPES } from "./mocks.js";

const asInputs = (r: RecordedResource): ResourceInputs => ({ type: r.type, name: r.name, props: r.inputs });

let oneHost: ResourceInputs[];
let swarm: ResourceInputs[];

beforeAll(async () => {
  oneHost = (await runStack({ docker: { debugPorts: true } })).resources.map(asInputs);
  swarm = (await runStack({ docker: { swarm: true, dataNode: "node-1" } })).resources.map(asInputs);
});

/** A deep copy of the graph with one resource changed. */
function broken(
  graph: ResourceInputs[],
  name: string,
  type: string,
  change: (props: ResourceInputs["props"]) => void,
) {
  const copy = structuredClone(graph);
  const target = copy.find((r) => r.name === name && r.type === type);
  if (!target) throw new Error(`no ${type} ${name}`);
  change(target.props);
  return copy;
}

describe("the policy pack", () => {
  it("finds nothing to object to in the dev stack, on one host or in Swarm", () => {
    expect(evaluate(oneHost)).toEqual([]);
    expect(evaluate(swarm)).toEqual([]);
  });

  it("checks the kinds of resources it is registered for", () => {
    for (const [name, rule] of Object.entries(RESOURCE_RULES))
      expect(rule.appliesTo.length, name).toBeGreaterThan(0);
  });

  const cases: [rule: string, name: string, type: string, change: (p: ResourceInputs["props"]) => unknown][] =
    [
      ["memory-limit", "gateway", TYPES.container, (p) => delete p.memory],
      ["no-plain-secret-env", "order", TYPES.container, (p) => p.envs.push("DB_PASSWORD=hunter2")],
      [
        "no-plain-secret-env",
        "auth",
        TYPES.container,
        (p) => p.envs.push("JWT_SIGNING_KEY=-----BEGIN PRIVATE KEY-----"),
      ],
      [
        "pinned-images",
        "shopstream-redis-image",
        TYPES.remoteImage,
        (p) => (p.name = "docker.io/library/redis:latest"),
      ],
      ["pinned-images", "redis", TYPES.container, (p) => (p.image = "redis")],
      ["no-privileged", "promtail", TYPES.container, (p) => (p.privileged = true)],
      [
        "publish-only-edge",
        "gateway",
        TYPES.container,
        (p) => p.ports.push({ internal: 8080, external: 8080 }),
      ],
      [
        "publish-only-edge",
        "mariadb",
        TYPES.container,
        (p) => (p.ports = [{ internal: 3306, external: 3306, ip: "0.0.0.0" }]),
      ],
      [
        "stateful-volume",
        "mariadb",
        TYPES.container,
        (p) => (p.volumes = p.volumes.filter((v: { volumeName?: string }) => !v.volumeName)),
      ],
      [
        "stateful-volumes-managed",
        "redis",
        TYPES.container,
        (p) => (p.volumes[0].volumeName = "someone-elses-volume"),
      ],
    ];
  it.each(cases)(
    "fails %s on a deliberately broken copy of the one-host graph (%s)",
    (rule, name, type, change) => {
      const violations = evaluate(broken(oneHost, name, type, change));
      expect(violations.length).toBeGreaterThan(0);
      expect(
        violations.every((v) => v.startsWith(`${rule}: `)),
        violations.join("\n"),
      ).toBe(true);
    },
  );

  it("fails Swarm services that would not roll back, or publish ports off the edge", () => {
    const noRollback = evaluate(
      broken(swarm, "order", TYPES.service, (p) => {
        p.updateConfig.failureAction = "pause";
        delete p.rollbackConfig;
      }),
    );
    expect(noRollback).toEqual([
      "swarm-rollback: service order does not roll back a failed update",
      "swarm-rollback: service order has no rollback configuration",
    ]);
    const published = evaluate(
      broken(
        swarm,
        "grafana",
        TYPES.service,
        (p) => (p.endpointSpec = { ports: [{ targetPort: 3000, publishedPort: 3000 }] }),
      ),
    );
    expect(published).toEqual(["publish-only-edge: service grafana publishes port 3000 but is not the edge"]);
  });

  it("tells pinned references from floating ones", () => {
    expect(isPinned("docker.io/library/redis:7.4.2-alpine")).toBe(true);
    expect(isPinned("localhost:5000/shopstream/order:0123456789abcdef")).toBe(true);
    expect(isPinned(`redis@sha256:${"a".repeat(64)}`)).toBe(true);
    expect(isPinned("localhost:5000/redis")).toBe(false);
    expect(isPinned("redis:latest")).toBe(false);
  });

  it("lets only the edge publish public ports; data stores bind loopback for debugging", () => {
    const published = oneHost.filter((r) => r.type === TYPES.container && (r.props.ports ?? []).length > 0);
    const byWorkload = (r: ResourceInputs) =>
      labelOf({ type: r.type, name: r.name, inputs: r.props } as RecordedResource, "com.shopstream.workload");
    expect(published.map(byWorkload).sort()).toEqual([
      "elasticsearch",
      "mariadb",
      "minio",
      "rabbitmq",
      "redis",
      "redis-cache",
      "traefik",
    ]);
  });
});
