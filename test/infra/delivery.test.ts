/**
 * Release records and multi-arch builds: the OCI labels every image gets (in `pulumi up`'s builds
 * and the images workflow's), the release plan the workflow runs, the `platforms` setting, and the
 * shape of the vulnerability allowlist.
 */
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { parseStackConfig } from "../../infra/src/config.js";
import { OCI_BUILD_ARGS, OCI_LABELS, ociRecord, sourceUrl } from "../../infra/src/model/oci.js";
import { buildxArgs, releaseImages, stackPlatforms } from "../../scripts/release-images.js";
import { APP_SERVICES } from "../support/design.js";
import { runStack, type StackRun, TYPES } from "./mocks.js";

const DOCKERFILES = ["services/Dockerfile", "services/storefront/Dockerfile"];

let dev: StackRun;
beforeAll(async () => {
  dev = await runStack();
}, 120_000);

describe("the OCI record of each image", () => {
  it("names the repository without credentials or .git, whatever the remote's form", () => {
    expect(sourceUrl("git@github.com:acme/shopstream.git")).toBe("https://github.com/acme/shopstream");
    expect(sourceUrl("https://token:x@github.com/acme/shopstream.git")).toBe(
      "https://github.com/acme/shopstream",
    );
    expect(sourceUrl("ssh://git@git.example.com/acme/shopstream")).toBe(
      "https://git.example.com/acme/shopstream",
    );
  });

  it("takes the revision and time of the last commit that changed the image's sources, the same on every run", () => {
    const gateway = releaseImages().find((w) => w.name === "gateway")!;
    const sources = gateway.image.kind === "build" ? (gateway.image.sources ?? []) : [];
    const env = { GITHUB_SERVER_URL: "https://github.com", GITHUB_REPOSITORY: "acme/shopstream" };
    const record = ociRecord(".", sources, env);
    expect(record.source).toBe("https://github.com/acme/shopstream");
    expect(record.revision).toMatch(/^[0-9a-f]{40}(-modified)?$/);
    expect(record.created).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(ociRecord(".", sources, env)).toEqual(record);
    // Outside a checkout nothing is made up.
    expect(ociRecord("/", ["nowhere"], {})).toEqual({ source: "", revision: "", created: "" });
  });

  it.each(DOCKERFILES)("%s labels its final image with the three build arguments", (file) => {
    const text = readFileSync(file, "utf8");
    const finalStage = text.slice(text.lastIndexOf("\nFROM "));
    for (const key of Object.keys(OCI_LABELS) as (keyof typeof OCI_LABELS)[]) {
      expect(finalStage).toContain(`ARG ${OCI_BUILD_ARGS[key]}=""`);
      expect(finalStage).toContain(`${OCI_LABELS[key]}="\${${OCI_BUILD_ARGS[key]}}"`);
    }
    // Nothing in the build is tied to one architecture.
    expect(text).not.toMatch(/amd64|x86_64|aarch64|arm64/);
  });

  it("is passed to every image `pulumi up` builds, beside the model's arguments", () => {
    const built = dev.ofType(TYPES.image);
    expect(built.map((i) => i.name.replace(/^shopstream-|-image$/g, "")).sort()).toEqual(
      releaseImages()
        .map((w) => w.name)
        .sort(),
    );
    for (const image of built) {
      const args = image.inputs.build.args as Record<string, string>;
      expect(args.OCI_REVISION, image.name).toMatch(/^[0-9a-f]{40}(-modified)?$/);
      expect(args.OCI_CREATED, image.name).toMatch(/Z$/);
      expect(Object.keys(args), image.name).toContain("OCI_SOURCE");
    }
  });
});

describe("the release plan (images workflow)", () => {
  const gateway = releaseImages().find((w) => w.name === "gateway")!;
  const record = {
    source: "https://github.com/acme/shopstream",
    revision: "a".repeat(40),
    created: "2026-01-02T03:04:05Z",
  };

  it("builds every image of the model for the stack's platforms", () => {
    // Every app service and the storefront: the images `pulumi up` builds too.
    expect(releaseImages().map((w) => w.name)).toEqual([...APP_SERVICES, "storefront"]);
    expect(stackPlatforms("dev")).toEqual(["linux/amd64", "linux/arm64"]);
    expect(stackPlatforms("prod")).toEqual(["linux/amd64", "linux/arm64"]);
  });

  it("pushes all platforms as one index, with the labels on each image and as the index's annotations", () => {
    const argv = buildxArgs({
      image: gateway,
      platforms: ["linux/amd64", "linux/arm64"],
      record,
      push: { repository: "ghcr.io/acme/shopstream", version: "b".repeat(40) },
    });
    expect(argv.slice(0, 6)).toEqual([
      "buildx",
      "build",
      "--file",
      "services/Dockerfile",
      "--platform",
      "linux/amd64,linux/arm64",
    ]);
    expect(argv).toContain("SERVICE=gateway");
    expect(argv).toContain(`OCI_REVISION=${record.revision}`);
    expect(argv).toContain(`index:org.opencontainers.image.revision=${record.revision}`);
    expect(argv).toContain(`index:org.opencontainers.image.created=${record.created}`);
    expect(argv).toContain(`ghcr.io/acme/shopstream/gateway:${"b".repeat(40)}`);
    expect(argv.at(-1)).toBe(".");
  });

  it("loads one platform at a time for the SBOM and the scan", () => {
    const argv = buildxArgs({
      image: gateway,
      platforms: ["linux/arm64"],
      record,
      load: { tag: "check/gateway:arm64" },
    });
    expect(argv).toContain("--load");
    expect(argv).not.toContain("--push");
    expect(() =>
      buildxArgs({ image: gateway, platforms: ["linux/amd64", "linux/arm64"], record, load: { tag: "x" } }),
    ).toThrow("--load takes one platform");
  });
});

describe("the platforms setting", () => {
  it.each([
    [
      { platforms: JSON.stringify(["linux/s390x"]) },
      "shopstream:platforms.0 must list platforms of linux/amd64, linux/arm64",
    ],
    [{ platforms: JSON.stringify([]) }, "shopstream:platforms must name at least one platform"],
    [
      { platforms: JSON.stringify(["linux/amd64", "linux/amd64"]) },
      "shopstream:platforms must not repeat a platform",
    ],
    [
      { platforms: JSON.stringify(["linux/amd64"]), imagePlatform: "linux/arm64" },
      "shopstream:imagePlatform must be one of platforms",
    ],
  ])("refuses %j", (raw, message) => {
    expect(() => parseStackConfig(raw, "dev")).toThrow(message);
  });

  it("defaults to both, and accepts one", () => {
    expect(parseStackConfig({}, "dev").platforms).toEqual(["linux/amd64", "linux/arm64"]);
    expect(parseStackConfig({ platforms: JSON.stringify(["linux/arm64"]) }, "dev").platforms).toEqual([
      "linux/arm64",
    ]);
  });
});

/** Entries of a Trivy ignore file, each with its expiry and the comment above it. */
function allowlist(text: string): { id: string; expires: string; why: string }[] {
  const out: { id: string; expires: string; why: string }[] = [];
  let comment: string[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line.startsWith("#")) {
      comment.push(line.replace(/^#\s?/, ""));
      continue;
    }
    if (line === "") {
      comment = [];
      continue;
    }
    const m = /^(\S+)\s+exp:(\d{4}-\d\d-\d\d)$/.exec(line);
    if (!m) throw new Error(`${line}: an entry is an ID and exp:YYYY-MM-DD`);
    if (comment.join(" ").trim().length < 20) throw new Error(`${m[1]}: say above it why it is allowed`);
    out.push({ id: m[1]!, expires: m[2]!, why: comment.join(" ") });
    comment = [];
  }
  return out;
}

describe("the vulnerability allowlist (.trivyignore)", () => {
  it("has a reason and an expiry at most 90 days ahead for every entry", () => {
    for (const entry of allowlist(readFileSync(".trivyignore", "utf8"))) {
      const days = (Date.parse(entry.expires) - Date.now()) / 86_400_000;
      expect(days, entry.id).toBeLessThanOrEqual(90);
    }
  });

  it("refuses an entry without a reason or an expiry", () => {
    expect(() => allowlist("CVE-2099-1 exp:2099-01-01\n")).toThrow("say above it why");
    expect(() => allowlist("# libfoo has no fix in bookworm yet\nCVE-2099-1\n")).toThrow("exp:YYYY-MM-DD");
    expect(
      allowlist("# libfoo has no fix in bookworm yet, not reachable\nCVE-2099-1 exp:2099-01-01\n"),
    ).toEqual([
      { id: "CVE-2099-1", expires: "2099-01-01", why: "libfoo has no fix in bookworm yet, not reachable" },
    ]);
  });
});
