import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../config.js";
import type { Platform } from "../model/index.js";
import {
  buildPaths,
  contentTag,
  ociBuildArgs,
  ociRecord,
  resolveImage,
  THIRD_PARTY_IMAGES,
} from "../model/index.js";

export interface ImageOptions {
  platform: Platform;
  config: StackConfig;
  registryPassword?: pulumi.Input<string>;
  repoRoot: string;
  /** The engine that builds the service images (and pushes them). */
  builder: docker.Provider;
  parent: pulumi.Resource;
}

/**
 * The image every workload runs. Service images are built as on the Docker target (same
 * Dockerfiles, same content tags) and always pushed, since the cluster's nodes pull them: pods
 * pin the pushed digest. Third-party images are the pinned references, through the mirror if one
 * is configured.
 */
export function workloadImages(name: string, o: ImageOptions): Record<string, pulumi.Output<string>> {
  const { platform, config } = o;
  const server = config.registry.server;
  if (!server) throw new Error("the Kubernetes target needs registry.server");
  const images: Record<string, pulumi.Output<string>> = {};
  for (const w of platform.workloads) {
    if (w.image.kind === "third-party") {
      images[w.name] = pulumi.output(resolveImage(THIRD_PARTY_IMAGES[w.image.image], config.registryMirror));
      continue;
    }
    if (w.image.kind === "reference") {
      // A release the images workflow pushed (a canary): the nodes pull it as given.
      images[w.name] = pulumi.output(w.image.ref);
      continue;
    }
    const tag = contentTag(
      o.repoRoot,
      w.image.sources ?? [w.image.dockerfile],
      w.image.args,
      w.image.dockerfile,
    );
    const image = new docker.Image(
      `${name}-${w.name}-image`,
      {
        imageName: `${server}/${w.name}:${tag}`,
        build: {
          ...buildPaths(o.repoRoot, w.image.dockerfile),
          // The model's arguments and the image's OCI labels (source, revision, created).
          args: {
            ...w.image.args,
            ...ociBuildArgs(ociRecord(o.repoRoot, w.image.sources ?? [w.image.dockerfile])),
          },
          builderVersion: "BuilderBuildKit",
          ...(config.imagePlatform ? { platform: config.imagePlatform } : {}),
        },
        skipPush: false,
        registry: {
          server,
          ...(config.registry.username ? { username: config.registry.username } : {}),
          ...(o.registryPassword ? { password: o.registryPassword } : {}),
        },
      },
      { parent: o.parent, provider: o.builder },
    );
    images[w.name] = image.repoDigest;
  }
  return images;
}

/** `kubernetes.io/dockerconfigjson` content that lets the nodes pull from the registry. */
export function dockerConfigJson(
  server: string,
  username: string,
  password: pulumi.Input<string>,
): pulumi.Output<string> {
  const host = server.split("/")[0] ?? server;
  return pulumi.secret(
    pulumi.output(password).apply((p) =>
      JSON.stringify({
        auths: {
          [host]: { username, password: p, auth: Buffer.from(`${username}:${p}`).toString("base64") },
        },
      }),
    ),
  );
}
