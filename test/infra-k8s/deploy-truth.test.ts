/**
 * What a first real `pulumi up --stack prod` would meet on a cluster that mocks cannot show:
 * files hidden by a directory mount, probes that restart a busy broker, Alertmanager's gossip,
 * DNS caches and API servers the NetworkPolicies miss, log positions lost on restart, and images
 * built for the wrong machine.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { IMAGE_CONTRACTS } from "../../infra/src/model/index.js";
import type { StackRun } from "../infra/mocks.js";
import { containerOf, controllerOf, K8S, type Obj, podSpecOf, prodSettings, runProd } from "./prod.js";

let run: StackRun;
beforeAll(async () => {
  run = await runProd();
});

describe("the prod stack against the images and the cluster", () => {
  it("mounts RabbitMQ's drop-in beside the image's own conf.d files, not over them", () => {
    const rabbit = controllerOf(run, "rabbitmq");
    const mounts = containerOf(rabbit).volumeMounts as Obj[];
    expect(IMAGE_CONTRACTS.rabbitmq.dirs).toHaveProperty("/etc/rabbitmq/conf.d");
    expect(mounts.filter((m) => m.mountPath === "/etc/rabbitmq/conf.d")).toEqual([]);
    const dropIn = mounts.find((m) => m.mountPath === "/etc/rabbitmq/conf.d/20-shopstream.conf");
    expect(dropIn).toMatchObject({ subPath: "20-shopstream.conf", readOnly: true });
    const volume = (podSpecOf(rabbit).volumes as Obj[]).find((v) => v.name === dropIn!.name);
    expect(volume!.projected.sources[0].configMap.items).toEqual([
      expect.objectContaining({ key: "rabbitmq-conf", path: "20-shopstream.conf" }),
    ]);
  });

  it("probes RabbitMQ's readiness with a TCP connect and runs its CLI only every 30 s for liveness", () => {
    const c = containerOf(controllerOf(run, "rabbitmq"));
    expect(c.readinessProbe).toMatchObject({ tcpSocket: { port: "amqp" }, periodSeconds: 10 });
    expect(c.readinessProbe.exec).toBeUndefined();
    expect(c.livenessProbe.exec.command).toEqual(["rabbitmq-diagnostics", "-q", "ping"]);
    expect(c.livenessProbe.periodSeconds).toBeGreaterThanOrEqual(30);
    expect(c.livenessProbe.timeoutSeconds).toBeGreaterThanOrEqual(15);
  });

  it("runs a single Alertmanager without cluster gossip", () => {
    const c = containerOf(controllerOf(run, "alertmanager"));
    expect(c.args).toContain("--cluster.listen-address=");
  });

  it("keeps Promtail's read positions on the node, outside the pod", () => {
    const promtail = controllerOf(run, "promtail");
    expect(promtail.type).toBe(K8S.daemonSet);
    const volume = (podSpecOf(promtail).volumes as Obj[]).find((v) => v.name === "promtail-positions");
    expect(volume!.hostPath).toMatchObject({ type: "DirectoryOrCreate" });
    const mount = (containerOf(promtail).volumeMounts as Obj[]).find((m) => m.name === "promtail-positions");
    const config = run
      .ofType(K8S.configMap)
      .map((c) => JSON.stringify(c.inputs.data ?? {}))
      .find((d) => d.includes("positions"))!;
    expect(config).toContain(`${mount!.mountPath}/positions.yaml`);
  });

  it("lets DNS reach kube-system and the configured resolvers, and the API server only where configured", async () => {
    const policies = (r: StackRun) =>
      r.ofType(K8S.networkPolicy).map((p) => p.inputs as Obj) as { metadata: Obj; spec: Obj }[];
    const dns = (r: StackRun) => policies(r).find((p) => p.metadata.name === "allow-dns")!.spec.egress[0].to;
    const api = (r: StackRun) =>
      policies(r)
        .find((p) => p.metadata.name === "promtail")!
        .spec.egress.flatMap((e: Obj) => e.to ?? [])
        .filter((t: Obj) => t.ipBlock);
    expect(dns(run)).toEqual([
      { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } } },
    ]);
    expect(api(run)).toEqual([{ ipBlock: { cidr: "0.0.0.0/0" } }]);
    const tuned = await runProd({
      kubernetes: {
        ...(prodSettings().kubernetes as Obj),
        dnsCidrs: ["169.254.20.10/32"],
        apiServerCidrs: ["10.0.0.1/32", "192.168.1.10/32"],
      },
    });
    expect(dns(tuned)).toContainEqual({ ipBlock: { cidr: "169.254.20.10/32" } });
    expect(api(tuned)).toEqual([
      { ipBlock: { cidr: "10.0.0.1/32" } },
      { ipBlock: { cidr: "192.168.1.10/32" } },
    ]);
  });

  it("builds the service images for the cluster's platform", () => {
    expect(prodSettings().imagePlatform).toBe("linux/amd64");
    for (const image of run.ofType("docker:index/image:Image"))
      expect(image.inputs.build.platform, image.name).toBe("linux/amd64");
  });
});
