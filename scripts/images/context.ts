/**
 * One snapshot of the build context for the whole run: the images and the rebuild probes are
 * built from the same files even while people keep editing the working tree (a manifest edited
 * mid-run would otherwise turn a "rebuild after one change" into a cold build).
 */
import { cpSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";

/** The paths an allowlist-style .dockerignore lets through (its `!path` lines without wildcards). */
export function allowedPaths(dockerignore: string): string[] {
  return readFileSync(dockerignore, "utf8")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => /^![^*?[]+$/.test(l))
    .map((l) => l.slice(1).replace(/\/+$/, ""));
}

const GENERATED = new Set(["node_modules", "dist", "coverage", ".vite"]);

/**
 * Copies what the root .dockerignore allows (and the file itself) into `dest`. A Dockerfile's own
 * `<Dockerfile>.dockerignore` (BuildKit reads it instead) must not allow anything the root one
 * does not, or the classic builder and BuildKit would build from different files.
 */
export function snapshotContext(repoRoot: string, dest: string, dockerfiles: string[]): void {
  const rootIgnore = join(repoRoot, ".dockerignore");
  const allowed = allowedPaths(rootIgnore);
  for (const dockerfile of dockerfiles) {
    const own = join(repoRoot, `${dockerfile}.dockerignore`);
    if (!existsSync(own)) continue;
    for (const path of allowedPaths(own)) {
      if (!allowed.some((a) => path === a || path.startsWith(`${a}/`))) {
        throw new Error(
          `${dockerfile}.dockerignore allows ${path}, which /.dockerignore does not: keep them in agreement`,
        );
      }
    }
  }
  for (const path of [...allowed, ".dockerignore"]) {
    if (!existsSync(join(repoRoot, path))) continue;
    cpSync(join(repoRoot, path), join(dest, path), {
      recursive: true,
      filter: (src) => !GENERATED.has(basename(src)) && !src.endsWith(".tsbuildinfo"),
    });
  }
}

/** A change to one source file of an image that must show in the image (a comment would not
 * survive the storefront's minifier), applied to the snapshot; returns the undo. */
export function changeOneSource(context: string, file: string): () => void {
  const path = join(context, file);
  const original = readFileSync(path, "utf8");
  const stamp = Date.now();
  const line = file.endsWith(".tsx")
    ? `document.documentElement.dataset.rebuildProbe = "${stamp}";`
    : `// images:test rebuild probe ${stamp}`;
  writeFileSync(path, `${original}\n${line}\n`);
  return () => writeFileSync(path, original);
}
