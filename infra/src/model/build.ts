import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import dockerignore, { type Ignore } from "@balena/dockerignore";

// The package is CommonJS (`module.exports = factory`) but its types declare an ES default export:
// under Node's ESM interop the default import is the factory itself.
const ignore = dockerignore as unknown as typeof dockerignore.default;

const SKIPPED = new Set(["node_modules", "dist", "coverage", ".turbo", ".shopstream", "test-artifacts"]);

/**
 * An immutable image tag: a hash over the content of the image's sources and its build
 * arguments. The same sources always give the same tag; any change gives a new one, so a
 * container or service is replaced exactly when its image changes.
 *
 * Only what the build sees counts: files the build context's `.dockerignore` leaves out (tests,
 * local state) do not change the tag, as BuildKit reads them: `<Dockerfile>.dockerignore` when
 * the Dockerfile has one, the root `.dockerignore` otherwise. The Dockerfile and the ignore file
 * themselves always count.
 */
export function contentTag(
  repoRoot: string,
  sources: string[],
  buildArgs: Record<string, string>,
  dockerfile?: string,
): string {
  const hash = createHash("sha256");
  hash.update(JSON.stringify(Object.entries(buildArgs).sort()));
  const ignoreFile = [dockerfile && `${dockerfile}.dockerignore`, ".dockerignore"].find(
    (f): f is string => Boolean(f) && existsSync(join(repoRoot, f as string)),
  );
  const rules = ignoreFile ? ignore().add(readFileSync(join(repoRoot, ignoreFile), "utf8")) : undefined;
  const always = new Set([dockerfile, ignoreFile].filter(Boolean));
  for (const source of [...sources].sort()) addPath(hash, repoRoot, source, rules, always);
  return hash.digest("hex").slice(0, 16);
}

function addPath(
  hash: ReturnType<typeof createHash>,
  root: string,
  rel: string,
  rules: Ignore | undefined,
  always: Set<string | undefined>,
): void {
  const abs = join(root, rel);
  if (!existsSync(abs)) {
    hash.update(`missing\0${rel}\0`);
    return;
  }
  const stat = statSync(abs);
  if (stat.isDirectory()) {
    for (const entry of readdirSync(abs).sort()) {
      if (SKIPPED.has(entry) || entry.endsWith(".tsbuildinfo")) continue;
      addPath(hash, root, join(rel, entry), rules, always);
    }
    return;
  }
  if (rules?.ignores(rel) && !always.has(rel)) return;
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
