/**
 * The supply-chain record every image of this repo carries as OCI labels (and, when the images
 * workflow pushes a multi-platform index, as annotations): where its source is, which revision
 * built it, and when that revision was made.
 *
 * `revision` and `created` come from the last commit that touched the image's own sources, not
 * from the clock or HEAD: the same sources always give the same labels, so an unrelated commit or
 * a second `pulumi up` neither rebuilds an image nor replaces its containers. Uncommitted changes
 * to the sources add `-modified` to the revision (the content tag changes with them anyway).
 */
import { execFileSync } from "node:child_process";

export interface OciRecord {
  /** `org.opencontainers.image.source`: the repository's URL. */
  source: string;
  /** `org.opencontainers.image.revision`: a commit hash. */
  revision: string;
  /** `org.opencontainers.image.created`: RFC 3339. */
  created: string;
}

/** The build arguments the Dockerfiles turn into the labels (their last instruction). */
export const OCI_BUILD_ARGS: Record<keyof OciRecord, string> = {
  source: "OCI_SOURCE",
  revision: "OCI_REVISION",
  created: "OCI_CREATED",
};

export const OCI_LABELS: Record<keyof OciRecord, string> = {
  source: "org.opencontainers.image.source",
  revision: "org.opencontainers.image.revision",
  created: "org.opencontainers.image.created",
};

function git(repoRoot: string, args: string[]): string | undefined {
  try {
    return execFileSync("git", ["-C", repoRoot, ...args], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
  } catch {
    return undefined;
  }
}

/** `git@github.com:acme/shop.git` and `https://…/acme/shop.git` both as `https://…/acme/shop`. */
export function sourceUrl(remote: string): string {
  const scp = /^[\w.-]+@([^:]+):(.+)$/.exec(remote);
  const url = scp ? `https://${scp[1]}/${scp[2]}` : remote.replace(/^ssh:\/\/[^@]+@/, "https://");
  // Credentials in a remote URL never reach a label.
  return url.replace(/\/\/[^/@]+@/, "//").replace(/\.git$/, "");
}

/**
 * The record for an image built from `sources` (repo paths). The source URL comes from the CI's
 * own variables when it has them, else from the `origin` remote; any part git cannot tell (no
 * checkout, no commit touching the sources) stays empty.
 */
export function ociRecord(
  repoRoot: string,
  sources: string[],
  env: Record<string, string | undefined> = process.env,
): OciRecord {
  // git answers once per process and image: a program (or a test process running it many times,
  // with fresh module graphs) asks again for the same images.
  const holder = globalThis as Record<symbol, Map<string, OciRecord> | undefined>;
  const memo = holder[MEMO] ?? new Map<string, OciRecord>();
  holder[MEMO] = memo;
  const key = JSON.stringify([repoRoot, sources, env.GITHUB_SERVER_URL, env.GITHUB_REPOSITORY]);
  const known = memo.get(key);
  if (known) return known;
  const record = readRecord(repoRoot, sources, env);
  memo.set(key, record);
  return record;
}

const MEMO = Symbol.for("shopstream.oci-records");

function readRecord(repoRoot: string, sources: string[], env: Record<string, string | undefined>): OciRecord {
  const fromCi =
    env.GITHUB_SERVER_URL && env.GITHUB_REPOSITORY
      ? `${env.GITHUB_SERVER_URL}/${env.GITHUB_REPOSITORY}`
      : undefined;
  const remote = fromCi ?? git(repoRoot, ["remote", "get-url", "origin"]);
  const last = git(repoRoot, ["log", "-1", "--format=%H %cI", "--", ...sources]) ?? "";
  const [commit = "", date = ""] = last.split(" ");
  const modified = commit !== "" && (git(repoRoot, ["status", "--porcelain", "--", ...sources]) ?? "") !== "";
  return {
    source: remote ? sourceUrl(remote) : "",
    revision: commit ? `${commit}${modified ? "-modified" : ""}` : "",
    created: date ? new Date(date).toISOString().replace(/\.\d{3}Z$/, "Z") : "",
  };
}

/** The record as build arguments. */
export function ociBuildArgs(record: OciRecord): Record<string, string> {
  return Object.fromEntries(
    (Object.keys(OCI_BUILD_ARGS) as (keyof OciRecord)[]).map((k) => [OCI_BUILD_ARGS[k], record[k]]),
  );
}
