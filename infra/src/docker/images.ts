import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root (this file lives in infra/src/docker/). */
export const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));

const SKIPPED = new Set(["node_modules", "dist", "coverage", ".turbo", ".shopstream", "test-artifacts"]);

/**
 * An immutable image tag: a hash over the content of the image's sources and its build
 * arguments. The same sources always give the same tag; any change gives a new one, so a
 * container or service is replaced exactly when its image changes.
 */
export function contentTag(repoRoot: string, sources: string[], buildArgs: Record<string, string>): string {
  const hash = createHash("sha256");
  hash.update(JSON.stringify(Object.entries(buildArgs).sort()));
  for (const source of [...sources].sort()) addPath(hash, repoRoot, source);
  return hash.digest("hex").slice(0, 16);
}

function addPath(hash: ReturnType<typeof createHash>, root: string, rel: string): void {
  const abs = join(root, rel);
  if (!existsSync(abs)) {
    hash.update(`missing\0${rel}\0`);
    return;
  }
  const stat = statSync(abs);
  if (stat.isDirectory()) {
    for (const entry of readdirSync(abs).sort()) {
      if (SKIPPED.has(entry) || entry.endsWith(".tsbuildinfo")) continue;
      addPath(hash, root, join(rel, entry));
    }
    return;
  }
  hash.update(`file\0${rel}\0`);
  hash.update(readFileSync(abs));
}

/**
 * Build context and Dockerfile paths as the Docker provider resolves them: relative to the
 * working directory of the Pulumi program (`infra/` under `pulumi up`), so the state holds the
 * same paths on every machine.
 */
export function buildPaths(repoRoot: string, dockerfile: string, cwd = process.cwd()) {
  return {
    context: relative(cwd, repoRoot) || ".",
    dockerfile: relative(cwd, join(repoRoot, dockerfile)),
  };
}
