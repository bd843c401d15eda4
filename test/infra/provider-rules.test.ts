/**
 * The pinned Docker provider's own rules (test/infra/provider.ts has them, with their sources),
 * applied to every resource the program registers, for each way the Docker target can be
 * configured; and a second preview: the state the provider's Read leaves, diffed against what the
 * program registers again, must show no change.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { IMAGE_CONTRACTS } from "../../infra/src/model/index.js";
import { labelOf, type RecordedResource, runStack, type StackRun, TYPES } from "./mocks.js";
import { differences, providerRuleViolations, readBack } from "./provider.js";

const VARIANTS = {
  "one host (Pulumi.dev.yaml)": { httpPort: 8080, httpsPort: 8443 },
  "one host with debug ports": { docker: { debugPorts: true } },
  "one host, images in a folder, no observability": { images: "local", observability: false },
  "Swarm with a registry": {
    docker: { swarm: true, dataNode: "node-1" },
    appReplicas: 3,
    registry: { server: "registry.example.com", push: true },
  },
} as const;

const runs = new Map<string, StackRun>();
beforeAll(async () => {
  for (const [name, settings] of Object.entries(VARIANTS)) runs.set(name, await runStack(settings));
}, 120_000);

describe.each(Object.keys(VARIANTS))("the Docker provider's rules: %s", (variant) => {
  const run = () => runs.get(variant)!;

  it("breaks none of them on any registered resource", () => {
    expect(providerRuleViolations(run().resources)).toEqual([]);
  });

  it("shows no change on a second preview (inputs diffed against the provider's read-back)", () => {
    const changed = run()
      .resources.filter((r) => r.type === TYPES.container || r.type === TYPES.service)
      .flatMap((r) => differences(r.inputs, readBack(r)).map((d) => `${r.name}: ${d}`));
    expect(changed).toEqual([]);
  });

  it("mounts no prepared volume where the image would overwrite its ownership", () => {
    const problems: string[] = [];
    const prepared = new Map(
      run()
        .ofType(TYPES.container)
        .filter((c) => labelOf(c, "com.shopstream.role") === "volume-owner")
        .map((c) => [c.inputs.volumes[0].volumeName as string, c]),
    );
    for (const r of run().resources.filter((x) => x.type === TYPES.container || x.type === TYPES.service)) {
      const workload = labelOf(r, "com.shopstream.workload");
      const contract = IMAGE_CONTRACTS[workload as keyof typeof IMAGE_CONTRACTS];
      if (!contract) continue;
      for (const m of mountsOf(r)) {
        if (!prepared.has(m.source)) continue;
        if (contract.volumes.includes(m.target) || m.target in contract.dirs)
          problems.push(`${workload}: ${m.source} at ${m.target}, which the image ships`);
      }
    }
    expect(problems).toEqual([]);
  });
});

function mountsOf(r: RecordedResource): { source: string; target: string }[] {
  if (r.type === TYPES.container) {
    return (r.inputs.volumes ?? [])
      .filter((v: { volumeName?: string }) => v.volumeName)
      .map((v: { volumeName: string; containerPath: string }) => ({
        source: v.volumeName,
        target: v.containerPath,
      }));
  }
  return (r.inputs.taskSpec?.containerSpec?.mounts ?? [])
    .filter((m: { type: string }) => m.type === "volume")
    .map((m: { source: string; target: string }) => ({ source: m.source, target: m.target }));
}

describe("the rules themselves", () => {
  const service = (
    inputs: Record<string, unknown>,
    extra: Partial<RecordedResource> = {},
  ): RecordedResource => ({
    type: TYPES.service,
    name: "s",
    inputs,
    secretInputs: [],
    dependsOn: [],
    parent: "",
    protect: false,
    deleteBeforeReplace: true,
    ...extra,
  });

  it("catch each kind of mistake they stand for", () => {
    expect(
      providerRuleViolations([service({ mode: { global: true }, convergeConfig: { delay: "7s" } })]),
    ).toEqual(["s: mode.global conflicts with convergeConfig"]);
    expect(
      providerRuleViolations([service({ taskSpec: { placement: { prefs: ["spread=node.id"] } } })]),
    ).toHaveLength(1);
    expect(providerRuleViolations([service({ name: "x" }, { deleteBeforeReplace: false })])).toHaveLength(1);
    const container = service(
      {
        volumes: [{ fromContainer: "c", readOnly: true }],
        ports: [{ internal: 1 }],
        networksAdvanced: [{ name: "n" }],
      },
      { type: TYPES.container },
    );
    const internalNet = service({ name: "n", internal: true }, { type: TYPES.network });
    expect(providerRuleViolations([container, internalNet])).toHaveLength(2);
  });

  it("read back durations and ratios as the provider writes them", () => {
    const c = readBack(
      service(
        { image: "shopstream/order:1", healthcheck: { tests: ["CMD"], interval: "10s", startPeriod: "60s" } },
        { type: TYPES.container },
      ),
    );
    expect(c.image).not.toBe("shopstream/order:1");
    expect(c.healthcheck).toMatchObject({ interval: "10s", startPeriod: "1m0s", timeout: "0s" });
    const s = readBack(
      service({
        taskSpec: { containerSpec: { stopGracePeriod: "90s" }, restartPolicy: { window: "120s" } },
        updateConfig: { delay: "60s", maxFailureRatio: "0" },
      }),
    );
    expect(s.taskSpec.containerSpec.stopGracePeriod).toBe("1m30s");
    expect(s.taskSpec.restartPolicy.window).toBe("2m");
    expect(s.updateConfig).toMatchObject({ delay: "1m", maxFailureRatio: "0.0" });
  });
});
