/**
 * What an app image may hold: its production dependencies and compiled code, run as a non-root
 * user. Each check returns the problems it found (empty when the image is clean).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { docker } from "./docker.js";

/** Tools that only build or test code; never in an image, whatever the lockfile says. */
const DEV_TOOLS = ["typescript", "vitest", "tsx", "vite", "esbuild", "@biomejs/biome", "playwright-core"];

interface LockPackage {
  dev?: boolean;
  devOptional?: boolean;
  optional?: boolean;
}

export function readLockfile(repoRoot: string): Record<string, LockPackage> {
  const lock = JSON.parse(readFileSync(join(repoRoot, "package-lock.json"), "utf8")) as {
    packages: Record<string, LockPackage>;
  };
  return lock.packages;
}

/** Runs a shell snippet in the image (no network, no entrypoint) and returns its output lines. */
async function shell(image: string, script: string): Promise<string[]> {
  const out = await docker(["run", "--rm", "--network", "none", "--entrypoint", "sh", image, "-c", script]);
  return out.split("\n").filter(Boolean);
}

/** The image declares a non-root user and a container started from it really is not uid 0. */
export async function checkNonRoot(
  image: string,
): Promise<{ user: string; uid: string; problems: string[] }> {
  const user = await docker(["image", "inspect", "-f", "{{.Config.User}}", image]);
  const uid = await docker(["run", "--rm", "--network", "none", "--entrypoint", "id", image, "-u"]);
  const problems: string[] = [];
  if (!user || ["root", "0", "0:0"].includes(user)) problems.push(`Config.User is "${user || "(unset)"}"`);
  if (uid === "0") problems.push("a container from it runs as uid 0");
  return { user, uid, problems };
}

/**
 * A Node service image: under /app only package.json files and compiled JavaScript of the
 * runtime and this service, plus production node_modules (no package the lockfile marks as a
 * dev dependency, no build or test tool, no type packages).
 */
export async function checkNodeImage(
  image: string,
  service: string,
  lock: Record<string, LockPackage>,
): Promise<string[]> {
  const problems: string[] = [];
  const lines = await shell(
    image,
    [
      "cd /app || exit 1",
      // Our own files: everything outside node_modules.
      "find . -path '*/node_modules' -prune -o -type f -print | sed 's#^\\./#file #'",
      // Every installed package: a package.json right below node_modules(/@scope).
      "find . -path '*/node_modules/*' -name package.json | grep -E '/node_modules/(@[^/]+/)?[^/]+/package.json$' | sed -e 's#^\\./#pkg #' -e 's#/package.json$##'",
      'for d in /src /out /repo /app/tsconfig.base.json /app/package-lock.json; do [ -e $d ] && echo "leftover $d"; done; true',
    ].join("; "),
  );
  const files = lines.filter((l) => l.startsWith("file ")).map((l) => l.slice(5));
  const packages = lines.filter((l) => l.startsWith("pkg ")).map((l) => l.slice(4));
  for (const l of lines.filter((x) => x.startsWith("leftover ")))
    problems.push(`build leftover ${l.slice(9)}`);

  if (!files.includes(`services/${service}/dist/main.js`))
    problems.push(`no services/${service}/dist/main.js`);
  for (const f of files) {
    const segments = f.split("/");
    const allowedRoot = segments[0] === "services" && ["runtime", service].includes(segments[1] ?? "");
    if (!allowedRoot) problems.push(`unexpected file /app/${f}`);
    else if (segments.some((s) => ["src", "test", "tests", "__tests__"].includes(s)))
      problems.push(`source or test file /app/${f}`);
    else if (/\.(ts|tsx|mts|cts)$/.test(f) && !/\.d\.[mc]?ts$/.test(f))
      problems.push(`TypeScript source /app/${f}`);
    else if (/(^|\/)tsconfig[^/]*\.json$|\.tsbuildinfo$/.test(f)) problems.push(`compiler file /app/${f}`);
  }

  for (const key of packages) {
    const name = key.replace(/^.*node_modules\//, "");
    const entry = lock[key];
    if (DEV_TOOLS.includes(name) || name.startsWith("@types/")) problems.push(`dev package ${key}`);
    else if (entry?.dev) problems.push(`dev dependency ${key} (per package-lock.json)`);
    else if (!entry && !name.startsWith("@shopstream/"))
      problems.push(`package ${key} is not in package-lock.json`);
  }
  return problems;
}

/** The storefront image: the built site only (no sources, maps or node_modules anywhere). */
export async function checkStaticImage(image: string, htmlRoot = "/usr/share/nginx/html"): Promise<string[]> {
  const problems: string[] = [];
  const lines = await shell(
    image,
    [
      `find ${htmlRoot} -type f | sed 's#^#file #'`,
      "find / -xdev \\( -name node_modules -o -name '*.tsx' -o -name tsconfig.json \\) -not -path '/proc/*' 2>/dev/null | sed 's#^#junk #'",
      "[ -e /repo ] && echo 'junk /repo'; true",
    ].join("; "),
  );
  const files = lines.filter((l) => l.startsWith("file ")).map((l) => l.slice(5));
  if (!files.includes(`${htmlRoot}/index.html`)) problems.push(`no ${htmlRoot}/index.html`);
  if (!files.some((f) => f.startsWith(`${htmlRoot}/assets/`) && f.endsWith(".js")))
    problems.push(`no JavaScript under ${htmlRoot}/assets`);
  for (const f of files) {
    if (/\.(ts|tsx|map)$/.test(f) && !f.endsWith(".d.ts")) problems.push(`source or map ${f}`);
  }
  for (const l of lines.filter((x) => x.startsWith("junk "))) problems.push(`build leftover ${l.slice(5)}`);
  return problems;
}
