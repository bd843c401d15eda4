import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../config.js";
import type { ConfigFileContext } from "../config-files/index.js";
import { edgeOptions, LABELS, renderConfigFiles } from "../config-files/index.js";
import type { NetworkName, Platform } from "../model/index.js";
import {
  buildPaths,
  containerResolver,
  contentTag,
  filesOf,
  ociBuildArgs,
  ociRecord,
  REPO_ROOT,
  resolveImage,
  startOrder,
  THIRD_PARTY_IMAGES,
} from "../model/index.js";
import { type PlatformSecrets, secretFiles } from "../secrets.js";
import type { DockerTargetContext } from "./context.js";
import { fileContent, objectName } from "./context.js";
import { labelList } from "./render.js";
import { SwarmWorkload } from "./swarm.js";
import { DockerWorkload } from "./workload.js";

export interface DockerPlatformArgs {
  platform: Platform;
  config: StackConfig;
  secrets: PlatformSecrets;
  /** Password for `registry.server` when pushing. */
  registryPassword?: pulumi.Input<string>;
  /** Repository root holding the Dockerfiles (defaults to this checkout). */
  repoRoot?: string;
}

/**
 * The whole platform on a Docker engine: one provider, the five networks, a named volume per
 * stateful part, every image, and each workload as a container (one host) or a service (Swarm),
 * created in dependency order.
 */
export class DockerPlatform extends pulumi.ComponentResource {
  /** Image reference of every workload (pinned tag, content tag, or registry digest). */
  readonly images: Record<string, pulumi.Output<string>>;

  constructor(name: string, args: DockerPlatformArgs, opts?: pulumi.ComponentResourceOptions) {
    super("shopstream:docker:Platform", name, {}, opts);
    const { platform, config } = args;
    const swarm = config.docker.swarm;
    const env = platform.settings.environment;
    const stackLabels = labelList({ [LABELS.stack]: env });

    const provider = new docker.Provider(
      `${name}-engine`,
      config.docker.host ? { host: config.docker.host } : {},
      { parent: this },
    );
    const child = { parent: this, provider };
    const physical = (n: string) => `${config.prefix}-${n}`;

    const networks = Object.fromEntries(
      platform.networks.map((n) => [
        n.name,
        new docker.Network(
          `${name}-${n.name}`,
          {
            name: physical(n.name),
            driver: swarm ? "overlay" : "bridge",
            internal: n.internal,
            // Only services join overlay networks; no stray container can attach.
            ...(swarm ? { attachable: false } : {}),
            labels: stackLabels,
          },
          // Fixed names: a replacement (bridge <-> overlay when docker.swarm is toggled) must
          // remove the old network before it can create the new one.
          { ...child, deleteBeforeReplace: true },
        ),
      ]),
    ) as Record<NetworkName, docker.Network>;
    const debugNetwork =
      config.docker.debugPorts && !swarm
        ? new docker.Network(
            `${name}-debug`,
            { name: physical("debug"), driver: "bridge", internal: false, labels: stackLabels },
            { ...child, deleteBeforeReplace: true },
          )
        : undefined;

    const volumes: Record<string, docker.Volume> = {};
    for (const w of platform.workloads) {
      for (const v of w.volumes) {
        volumes[v.name] = new docker.Volume(
          `${name}-${v.name}`,
          { name: physical(v.name), labels: labelList({ [LABELS.stack]: env, [LABELS.workload]: w.name }) },
          { ...child, protect: config.protect },
        );
      }
    }

    // Third-party images, pinned in the model and redirectable to a mirror; pulled once each,
    // however many workloads run one (both Redis instances run the redis image).
    const pulled = new Map<keyof typeof THIRD_PARTY_IMAGES, docker.RemoteImage>();
    const remote = (key: keyof typeof THIRD_PARTY_IMAGES) => {
      const known = pulled.get(key);
      if (known) return known;
      const image = new docker.RemoteImage(
        `${name}-${key}-image`,
        { name: resolveImage(THIRD_PARTY_IMAGES[key], config.registryMirror), keepLocally: true },
        child,
      );
      pulled.set(key, image);
      return image;
    };
    const toolbox = remote("busybox");
    /** What each container or service runs. */
    const images: Record<string, pulumi.Output<string>> = {};
    /** What the stack reports. */
    const references: Record<string, pulumi.Output<string>> = {};
    const repoRoot = args.repoRoot ?? REPO_ROOT;
    for (const w of platform.workloads) {
      if (w.image.kind === "third-party") {
        const image = remote(w.image.image);
        // A container pins the pulled image by ID; a Swarm service pulls the pinned reference.
        images[w.name] = swarm ? image.name : image.imageId;
        references[w.name] = image.name;
        continue;
      }
      if (w.image.kind === "reference") {
        // A release built elsewhere (a canary): pulled unless the engine has it, never built.
        if (swarm) {
          images[w.name] = pulumi.output(w.image.ref);
        } else {
          images[w.name] = new docker.RemoteImage(
            `${name}-${w.name}-image`,
            { name: w.image.ref, keepLocally: true },
            child,
          ).imageId;
        }
        references[w.name] = pulumi.output(w.image.ref);
        continue;
      }
      const tag = contentTag(
        repoRoot,
        w.image.sources ?? [w.image.dockerfile],
        w.image.args,
        w.image.dockerfile,
      );
      const repository = `${config.registry.server ?? "shopstream"}/${w.name}`;
      const push = config.registry.push && Boolean(config.registry.server);
      const image = new docker.Image(
        `${name}-${w.name}-image`,
        {
          imageName: `${repository}:${tag}`,
          build: {
            ...buildPaths(repoRoot, w.image.dockerfile),
            // The model's arguments and the image's OCI labels (source, revision, created).
            args: {
              ...w.image.args,
              ...ociBuildArgs(ociRecord(repoRoot, w.image.sources ?? [w.image.dockerfile])),
            },
            builderVersion: "BuilderBuildKit",
            ...(config.imagePlatform ? { platform: config.imagePlatform } : {}),
          },
          skipPush: !push,
          ...(push
            ? {
                registry: {
                  server: config.registry.server!,
                  ...(config.registry.username ? { username: config.registry.username } : {}),
                  ...(args.registryPassword ? { password: args.registryPassword } : {}),
                },
              }
            : {}),
        },
        child,
      );
      if (swarm) {
        // A service runs what it is given: the pushed digest, or the tag on a one-node Swarm.
        images[w.name] = push ? image.repoDigest : image.imageName;
      } else {
        // A container must be given the image's ID: the provider reads the ID back into
        // `image`, so a name would show as a change on every preview and replace the container
        // on every `up`. The built image is on the engine; this looks it up (no pull).
        images[w.name] = new docker.RemoteImage(
          `${name}-${w.name}-local-image`,
          { name: image.imageName, keepLocally: true },
          child,
        ).imageId;
      }
      references[w.name] = push ? image.repoDigest : image.imageName;
    }

    const ctxForFiles: ConfigFileContext = {
      platform,
      host: containerResolver.host,
      scrapeDiscovery: (w, port) =>
        swarm
          ? { dns_sd_configs: [{ names: [`tasks.${physical(w.name)}`], type: "A", port }] }
          : { static_configs: [{ targets: [`${containerResolver.host(w)}:${port}`] }] },
      logDiscovery: "docker",
      edge: edgeOptions(config),
    };
    const s = args.secrets;
    const derivedSecretFiles = secretFiles(platform, s);
    const context: DockerTargetContext = {
      platform,
      config,
      networks,
      ...(debugNetwork ? { debugNetwork } : {}),
      volumes,
      images,
      toolboxImage: toolbox.imageId,
      configFiles: renderConfigFiles(ctxForFiles),
      secretFiles: derivedSecretFiles,
      secretValues: s.values,
    };

    // Volumes whose image does not ship the directory start root-owned: a one-shot job hands
    // them to the workload's user before it starts.
    const volumeOwners = new Map<string, docker.Container>();
    for (const w of platform.workloads) {
      for (const v of w.volumes.filter((x) => x.ownedBy)) {
        volumeOwners.set(
          v.name,
          new docker.Container(
            `${name}-${v.name}-owner`,
            {
              name: objectName(context, `${v.name}-owner`),
              image: toolbox.imageId,
              command: ["chown", "-R", v.ownedBy!, "/volume"],
              user: "0:0",
              attach: true,
              mustRun: false,
              memory: 32,
              volumes: [{ volumeName: volumes[v.name]!.name, containerPath: "/volume" }],
              labels: labelList({
                [LABELS.stack]: env,
                [LABELS.workload]: w.name,
                [LABELS.role]: "volume-owner",
              }),
            },
            { ...child, deleteBeforeReplace: true },
          ),
        );
      }
    }

    const swarmSecrets: Record<string, docker.Secret> = {};
    const swarmConfigs: Record<string, docker.ServiceConfig> = {};
    if (swarm) {
      for (const w of platform.workloads) {
        for (const f of filesOf(w)) {
          if (f.source.kind === "config") {
            const fileName = f.source.name;
            swarmConfigs[fileName] ??= new docker.ServiceConfig(
              `${name}-${fileName}`,
              { dataRaw: fileContent(context, f.source), labels: stackLabels },
              child,
            );
          } else {
            const key =
              f.source.kind === "secret" ? `secret:${f.source.secret}` : `secret-file:${f.source.name}`;
            const label = f.source.kind === "secret" ? f.source.secret : f.source.name;
            swarmSecrets[key] ??= new docker.Secret(
              `${name}-${label}`,
              {
                data: pulumi.secret(
                  pulumi
                    .output(fileContent(context, f.source))
                    .apply((c) => Buffer.from(c, "utf8").toString("base64")),
                ),
                labels: stackLabels,
              },
              child,
            );
          }
        }
      }
    }

    const created = new Map<string, pulumi.Resource>();
    for (const w of startOrder(platform.workloads)) {
      const dependencies = [
        ...w.dependsOn.flatMap((d) => (created.has(d) ? [created.get(d)!] : [])),
        ...w.volumes.flatMap((v) => (volumeOwners.has(v.name) ? [volumeOwners.get(v.name)!] : [])),
      ];
      const resource = swarm
        ? new SwarmWorkload(
            w.name,
            { workload: w, context, secrets: swarmSecrets, configs: swarmConfigs, dependencies },
            { parent: this, providers: [provider] },
          ).service
        : new DockerWorkload(
            w.name,
            { workload: w, context, dependencies },
            { parent: this, providers: [provider] },
          ).container;
      created.set(w.name, resource);
    }

    this.images = references;
    this.registerOutputs({ images: references });
  }
}
