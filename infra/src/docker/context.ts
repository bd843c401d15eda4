import type * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../config.js";
import type { FileSource, NetworkName, Platform, SecretName } from "../model/index.js";

/** What every workload component of the Docker target shares. */
export interface DockerTargetContext {
  platform: Platform;
  config: StackConfig;
  networks: Record<NetworkName, docker.Network>;
  /** With `docker.debugPorts` on one host: the non-internal network the published stores join. */
  debugNetwork?: docker.Network;
  /** Named volumes by the model's volume name. */
  volumes: Record<string, docker.Volume>;
  /** Image reference each workload runs. */
  images: Record<string, pulumi.Input<string>>;
  /** A small pinned image for one-shot jobs (volume ownership). */
  toolboxImage: pulumi.Input<string>;
  /** Generated non-secret files by name. */
  configFiles: Record<string, string>;
  /** Generated secret files by name (a Pulumi secret). */
  secretFiles: pulumi.Output<Record<string, string>>;
  /** Generated secrets by name (Pulumi secrets). */
  secretValues: Record<SecretName, pulumi.Output<string>>;
}

/** The content of a file a workload reads; secret material stays a Pulumi secret. */
export function fileContent(ctx: DockerTargetContext, source: FileSource): pulumi.Input<string> {
  switch (source.kind) {
    case "secret": {
      const value = ctx.secretValues[source.secret];
      if (!value) throw new Error(`the platform generates no secret ${source.secret}`);
      return value;
    }
    case "secret-file":
      return pulumi.secret(
        ctx.secretFiles.apply((files) => {
          const content = files[source.name];
          if (content === undefined) throw new Error(`no secret file ${source.name}`);
          return content;
        }),
      );
    case "config": {
      const content = ctx.configFiles[source.name];
      if (content === undefined) throw new Error(`no config file ${source.name}`);
      return content;
    }
  }
}

/** Physical name of a Docker object of this stack. */
export const objectName = (ctx: DockerTargetContext, name: string) => `${ctx.config.prefix}-${name}`;
