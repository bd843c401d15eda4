import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { LABELS } from "../config-files/index.js";
import type { Workload } from "../model/index.js";
import {
  containerResolver,
  fileDirectories,
  filesOf,
  firstPort,
  portByName,
  renderEnv,
  userIds,
} from "../model/index.js";
import type { DockerTargetContext } from "./context.js";
import { fileContent, objectName } from "./context.js";
import {
  CONTAINER_LOGS_MOUNT,
  cpuLimit,
  DOCKER_LOG_OPTIONS,
  healthcheckTest,
  healthcheckTiming,
  healthWaitSeconds,
  labelList,
  tmpfsOptions,
  workloadLabels,
} from "./render.js";

export interface DockerWorkloadArgs {
  workload: Workload;
  context: DockerTargetContext;
  /** What must exist first: the containers of the workloads this one depends on (it starts once
   * they are healthy) and the jobs that prepare its volumes. */
  dependencies: pulumi.Resource[];
}

/**
 * One workload as a container on one Docker host.
 *
 * Files (secrets and generated configs) cannot be uploaded into a container whose root
 * filesystem is read-only (the engine refuses any copy that does not land in a volume), so they
 * are uploaded into a never-started "files" container that holds them in anonymous volumes; the
 * workload mounts those volumes read-only with `volumes-from`. They live as long as that
 * container and never appear in the workload's env, command or labels.
 */
export class DockerWorkload extends pulumi.ComponentResource {
  readonly container: docker.Container;

  constructor(name: string, args: DockerWorkloadArgs, opts?: pulumi.ComponentResourceOptions) {
    super("shopstream:docker:Workload", name, {}, opts);
    const { workload: w, context: ctx } = args;
    const labels = workloadLabels(w, ctx.platform.settings.environment);
    const { uid, gid } = userIds(w);
    const image = ctx.images[w.name];
    if (!image) throw new Error(`no image for ${w.name}`);

    const files = filesOf(w);
    let carrier: docker.Container | undefined;
    if (files.length > 0) {
      carrier = new docker.Container(
        `${name}-files`,
        {
          name: objectName(ctx, `${w.name}-files`),
          image,
          start: false,
          mustRun: false,
          memory: 16,
          volumes: fileDirectories(files).map((containerPath) => ({ containerPath })),
          uploads: files.map((f) => ({
            file: f.path,
            content: fileContent(ctx, f.source),
            owner: uid,
            group: gid,
            permissions: `0${f.mode.toString(8)}`,
          })),
          labels: labelList({ ...labels, [LABELS.role]: "files" }),
        },
        { parent: this, deleteBeforeReplace: true },
      );
    }

    const test = healthcheckTest(w);
    const edge = w.tier === "edge";
    // Docker publishes no port of a container that is only on internal networks: a store
    // published for debugging also joins the non-internal `debug` network.
    const debug = ctx.debugNetwork !== undefined && w.tier === "data";
    const ports = edge
      ? [
          { internal: portByName(w, "web"), external: ctx.config.httpPort },
          { internal: portByName(w, "websecure"), external: ctx.config.httpsPort },
        ]
      : debug
        ? [{ internal: firstPort(w), external: firstPort(w), ip: "127.0.0.1" }]
        : [];

    this.container = new docker.Container(
      name,
      {
        name: objectName(ctx, w.name),
        hostname: w.name,
        image,
        envs: Object.entries(renderEnv(ctx.platform, w, containerResolver)).map(([k, v]) => `${k}=${v}`),
        ...(w.args ? { command: w.args } : {}),
        ...(w.user ? { user: w.user } : {}),
        readOnly: w.readOnlyRootFilesystem,
        tmpfs: tmpfsOptions(w),
        memory: w.resources.memoryMiB,
        cpus: cpuLimit(w),
        capabilities: { drops: ["ALL"] },
        securityOpts: ["no-new-privileges:true"],
        restart: "unless-stopped",
        stopTimeout: w.stopGracePeriodSeconds,
        destroyGraceSeconds: w.stopGracePeriodSeconds,
        logDriver: "json-file",
        logOpts: DOCKER_LOG_OPTIONS,
        networksAdvanced: [
          ...w.networks.map((n) => ({ name: ctx.networks[n].name, aliases: [w.name] })),
          ...(debug && ctx.debugNetwork ? [{ name: ctx.debugNetwork.name, aliases: [w.name] }] : []),
        ],
        volumes: [
          ...w.volumes.map((v) => ({ volumeName: ctx.volumes[v.name]!.name, containerPath: v.mountPath })),
          // By ID: new file content replaces the carrier, and with it this container. Read-only
          // by Docker's own `<container>:ro` syntax: the provider ignores `readOnly` on volumes
          // taken from another container and would mount them writable.
          ...(carrier ? [{ fromContainer: pulumi.interpolate`${carrier.id}:ro` }] : []),
          ...(w.readsContainerLogs ? [{ ...CONTAINER_LOGS_MOUNT, readOnly: true }] : []),
        ],
        ...(test
          ? {
              healthcheck: { tests: test, ...healthcheckTiming(w) },
              // `pulumi up` moves on to dependants only once this container is healthy.
              wait: true,
              waitTimeout: healthWaitSeconds(w),
            }
          : {}),
        ports,
        labels: labelList({ ...labels, [LABELS.role]: "workload" }),
      },
      {
        parent: this,
        dependsOn: [...args.dependencies, ...(carrier ? [carrier] : [])],
        // The container name is fixed, so a replacement must remove the old one first.
        deleteBeforeReplace: true,
      },
    );
    this.registerOutputs({ containerName: this.container.name });
  }
}
