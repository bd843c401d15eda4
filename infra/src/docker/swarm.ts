import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { LABELS } from "../config-files/index.js";
import type { Workload } from "../model/index.js";
import { containerResolver, filesOf, portByName, renderEnv, userIds } from "../model/index.js";
import type { DockerTargetContext } from "./context.js";
import { objectName } from "./context.js";
import {
  CONTAINER_LOGS_MOUNT,
  DOCKER_LOG_OPTIONS,
  healthcheckTest,
  healthcheckTiming,
  labelList,
  MiB,
  serviceDuration,
  swarmPlacement,
  swarmUpdatePolicy,
  workloadLabels,
} from "./render.js";

export interface SwarmWorkloadArgs {
  workload: Workload;
  context: DockerTargetContext;
  /** Swarm secrets by file source key (`secret:<name>` or `secret-file:<name>`). */
  secrets: Record<string, docker.Secret>;
  /** Swarm configs by config file name. */
  configs: Record<string, docker.ServiceConfig>;
  /** Services of the workloads this one depends on. */
  dependencies: pulumi.Resource[];
}

/**
 * One workload as a Swarm service: replicas, rolling updates one task at a time with automatic
 * rollback, restart policy, placement, Docker secrets and configs as files.
 */
export class SwarmWorkload extends pulumi.ComponentResource {
  readonly service: docker.Service;

  constructor(name: string, args: SwarmWorkloadArgs, opts?: pulumi.ComponentResourceOptions) {
    super("shopstream:docker:SwarmService", name, {}, opts);
    const { workload: w, context: ctx } = args;
    const labels = workloadLabels(w, ctx.platform.settings.environment);
    const { uid, gid } = userIds(w);
    const image = ctx.images[w.name];
    if (!image) throw new Error(`no image for ${w.name}`);

    const secrets = [];
    const configs = [];
    for (const f of filesOf(w)) {
      if (f.source.kind === "config") {
        const config = args.configs[f.source.name];
        if (!config) throw new Error(`no Swarm config ${f.source.name}`);
        configs.push({
          configId: config.id,
          configName: config.name,
          fileName: f.path,
          fileUid: uid,
          fileGid: gid,
          fileMode: f.mode,
        });
      } else {
        const key = f.source.kind === "secret" ? `secret:${f.source.secret}` : `secret-file:${f.source.name}`;
        const secret = args.secrets[key];
        if (!secret) throw new Error(`no Swarm secret ${key}`);
        secrets.push({
          secretId: secret.id,
          secretName: secret.name,
          fileName: f.path,
          fileUid: uid,
          fileGid: gid,
          fileMode: f.mode,
        });
      }
    }

    const test = healthcheckTest(w);
    const policy = swarmUpdatePolicy(w);
    const dataNode = ctx.config.docker.dataNode;
    if (!dataNode) throw new Error("docker.dataNode is required with docker.swarm");
    const placement = swarmPlacement(w, dataNode);
    const edge = w.tier === "edge";
    const global = Boolean(w.readsContainerLogs);
    this.service = new docker.Service(
      name,
      {
        name: objectName(ctx, w.name),
        labels: labelList(labels),
        mode: global ? { global: true } : { replicated: { replicas: w.replicas } },
        taskSpec: {
          containerSpec: {
            image,
            hostname: w.name,
            env: renderEnv(ctx.platform, w, containerResolver),
            ...(w.args ? { args: w.args } : {}),
            ...(w.user ? { user: w.user } : {}),
            readOnly: w.readOnlyRootFilesystem,
            capDrops: ["ALL"],
            stopGracePeriod: serviceDuration(w.stopGracePeriodSeconds),
            labels: labelList({ ...labels, [LABELS.role]: "workload" }),
            mounts: [
              ...w.volumes.map((v) => ({
                type: "volume",
                source: ctx.volumes[v.name]!.name,
                target: v.mountPath,
              })),
              ...w.tmpfs.map((target) => ({
                type: "tmpfs",
                target,
                tmpfsOptions: { sizeBytes: 64 * MiB, mode: 0o1777 },
              })),
              ...(w.readsContainerLogs
                ? [
                    {
                      type: "bind",
                      source: CONTAINER_LOGS_MOUNT.hostPath,
                      target: CONTAINER_LOGS_MOUNT.containerPath,
                      readOnly: true,
                    },
                  ]
                : []),
            ],
            secrets,
            configs,
            ...(test ? { healthcheck: { tests: test, ...healthcheckTiming(w, "service") } } : {}),
          },
          networksAdvanceds: w.networks.map((n) => ({ id: ctx.networks[n].id, aliases: [w.name] })),
          resources: {
            limits: {
              memoryBytes: w.resources.memoryMiB * MiB,
              nanoCpus: w.resources.cpuMillis * 2 * 1_000_000,
            },
            reservation: {
              memoryBytes: w.resources.memoryMiB * MiB,
              nanoCpus: w.resources.cpuMillis * 1_000_000,
            },
          },
          restartPolicy: policy.restartPolicy,
          ...(placement ? { placement } : {}),
          logDriver: { name: "json-file", options: DOCKER_LOG_OPTIONS },
        },
        updateConfig: policy.updateConfig,
        rollbackConfig: policy.rollbackConfig,
        // `pulumi up` waits until every task runs (and, with a health check, is healthy). The
        // provider refuses a converge configuration on a global service (the two conflict).
        ...(global ? {} : { convergeConfig: { delay: "7s", timeout: "10m" } }),
        ...(edge
          ? {
              endpointSpec: {
                // Host mode: published on the node the edge runs on, bypassing the routing mesh,
                // so Traefik sees each client's own address (through the mesh every client
                // would arrive from the ingress network's 10.0.0.x, and per-client limits
                // would become global).
                ports: [
                  {
                    targetPort: portByName(w, "web"),
                    publishedPort: ctx.config.httpPort,
                    protocol: "tcp",
                    publishMode: "host",
                  },
                  {
                    targetPort: portByName(w, "websecure"),
                    publishedPort: ctx.config.httpsPort,
                    protocol: "tcp",
                    publishMode: "host",
                  },
                ],
              },
            }
          : {}),
      },
      // The service name is fixed, so a replacement (a change of mode, say) must remove the old
      // service first.
      { parent: this, dependsOn: args.dependencies, deleteBeforeReplace: true },
    );
    this.registerOutputs({ serviceName: this.service.name });
  }
}
