/**
 * `npm run images:release -- <command>`: the release builds of every image this repo makes, for
 * the images workflow (.github/workflows/images.yml) and for a machine with buildx. The list of
 * images, their Dockerfiles and build arguments come from the platform model, the platforms from
 * the stack's `platforms` setting, and the OCI labels from infra/src/model/oci.ts, so a release
 * builds exactly what `pulumi up` builds (docs/delivery.md).
 *
 *   plan [--stack dev]
 *       GitHub outputs: `images` (JSON list of image names) and `platforms` (JSON list).
 *   build <image> --platforms linux/amd64[,linux/arm64] [--load --tag <ref>]
 *         [--push --repository <registry/path> --version <tag>] [--cache <scope>] [--dry-run]
 *       Runs `docker buildx build` from the repository root: `--load` one platform into the
 *       engine (SBOM and scan), or `--push` every platform as one multi-platform index, with the
 *       OCI labels on each image and as annotations on the index. `--dry-run` prints the command.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import yaml from "js-yaml";
import { parseStackConfig, RELEASE_PLATFORMS } from "../infra/src/config.js";
import { buildPlatform, localSettings, type Workload } from "../infra/src/model/index.js";
import { OCI_LABELS, type OciRecord, ociBuildArgs, ociRecord } from "../infra/src/model/oci.js";

const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url));

/** Every image built from this repo: the model's `build` workloads. */
export function releaseImages(): Workload[] {
  return buildPlatform(localSettings()).workloads.filter((w) => w.image.kind === "build");
}

/** The stack's `platforms` (Pulumi.<stack>.yaml), validated as `pulumi up` validates it. */
export function stackPlatforms(stack: string, root = REPO_ROOT): string[] {
  const doc = yaml.load(readFileSync(join(root, `Pulumi.${stack}.yaml`), "utf8")) as {
    config?: Record<string, unknown>;
  };
  const value = doc.config?.["shopstream:platforms"];
  if (value === undefined) return [...RELEASE_PLATFORMS];
  return parseStackConfig({ platforms: JSON.stringify(value) }, stack).platforms;
}

export interface BuildOptions {
  image: Workload;
  platforms: string[];
  record: OciRecord;
  /** One platform into the engine, under this tag. */
  load?: { tag: string };
  /** Every platform to `<repository>/<image>:<version>`. */
  push?: { repository: string; version: string };
  /** GitHub Actions cache scope. */
  cache?: string;
}

/** `docker buildx build` arguments for one image. */
export function buildxArgs(o: BuildOptions): string[] {
  if (o.image.image.kind !== "build") throw new Error(`${o.image.name} is not built from this repo`);
  if (Boolean(o.load) === Boolean(o.push)) throw new Error("choose --load or --push");
  if (o.load && o.platforms.length !== 1)
    throw new Error("--load takes one platform (the engine holds one per tag)");
  const { dockerfile, args } = o.image.image;
  const argv = ["buildx", "build", "--file", dockerfile, "--platform", o.platforms.join(",")];
  for (const [k, v] of Object.entries({ ...args, ...ociBuildArgs(o.record) }))
    argv.push("--build-arg", `${k}=${v}`);
  if (o.cache)
    argv.push(
      "--cache-from",
      `type=gha,scope=${o.cache}`,
      "--cache-to",
      `type=gha,mode=max,scope=${o.cache}`,
    );
  if (o.load) {
    argv.push("--load", "--tag", o.load.tag);
  } else if (o.push) {
    const ref = `${o.push.repository}/${o.image.name}:${o.push.version}`;
    argv.push("--push", "--tag", ref, "--provenance", "mode=max", "--sbom", "true");
    // The labels are each image's; the index (what a multi-platform tag names) gets them as annotations.
    for (const k of Object.keys(OCI_LABELS) as (keyof OciRecord)[])
      if (o.record[k]) argv.push("--annotation", `index:${OCI_LABELS[k]}=${o.record[k]}`);
    argv.push("--metadata-file", `release-${o.image.name}.json`);
  }
  argv.push(".");
  return argv;
}

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

function main(argv: string[]): number {
  const [command, ...rest] = argv;
  if (command === "plan") {
    const stack = option(rest, "--stack") ?? "dev";
    process.stdout.write(`images=${JSON.stringify(releaseImages().map((w) => w.name))}\n`);
    process.stdout.write(`platforms=${JSON.stringify(stackPlatforms(stack))}\n`);
    return 0;
  }
  if (command === "build") {
    const name = rest[0];
    const image = releaseImages().find((w) => w.name === name);
    if (image?.image.kind !== "build") {
      process.stderr.write(
        `unknown image ${name}: one of ${releaseImages()
          .map((w) => w.name)
          .join(", ")}\n`,
      );
      return 2;
    }
    const platforms = (option(rest, "--platforms") ?? "").split(",").filter(Boolean);
    const repository = option(rest, "--repository");
    const version = option(rest, "--version");
    const tag = option(rest, "--tag");
    const cache = option(rest, "--cache");
    const args = buildxArgs({
      image,
      platforms,
      record: ociRecord(REPO_ROOT, image.image.sources ?? [image.image.dockerfile]),
      ...(rest.includes("--load") && tag ? { load: { tag } } : {}),
      ...(rest.includes("--push") && repository && version ? { push: { repository, version } } : {}),
      ...(cache ? { cache } : {}),
    });
    process.stdout.write(`docker ${args.map((a) => (/[\s"']/.test(a) ? JSON.stringify(a) : a)).join(" ")}\n`);
    if (rest.includes("--dry-run")) return 0;
    return spawnSync("docker", args, { cwd: REPO_ROOT, stdio: "inherit" }).status ?? 1;
  }
  process.stderr.write(
    "usage: release-images.ts plan [--stack dev] | build <image> --platforms … (--load --tag … | --push --repository … --version …)\n",
  );
  return 2;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1])
  process.exit(main(process.argv.slice(2)));
