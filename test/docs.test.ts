/**
 * The repository stands alone: every relative link in a tracked Markdown file resolves to a file
 * (and heading) inside it, no file points at notes outside it, every `docs/….md` a file mentions
 * exists, and the README stays a front page.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import GithubSlugger from "github-slugger";
import MarkdownIt from "markdown-it";
import { describe, expect, it } from "vitest";

const REPO = fileURLToPath(new URL("..", import.meta.url));
const SELF = relative(REPO, fileURLToPath(import.meta.url));
const README_MAX_BYTES = 15 * 1024;

/** Tracked files, and new ones git does not ignore (so a doc is checked before its commit). */
const FILES = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], {
  cwd: REPO,
  encoding: "utf8",
})
  .split("\0")
  .filter((f) => f && existsSync(join(REPO, f)));
const MARKDOWN = FILES.filter((f) => f.endsWith(".md"));
const TEXT = FILES.filter(
  (f) => f !== SELF && !f.endsWith("package-lock.json") && !/\.(png|ico|woff2?|jpg|gif)$/.test(f),
);

const md = new MarkdownIt({ html: true });

/** Every link and image target in a Markdown document (code spans and blocks excluded). */
function linkTargets(markdown: string): string[] {
  const out: string[] = [];
  const walk = (tokens: ReturnType<typeof md.parse>) => {
    for (const t of tokens) {
      if (t.type === "link_open") out.push(String(t.attrGet("href") ?? ""));
      if (t.type === "image") out.push(String(t.attrGet("src") ?? ""));
      if (t.children) walk(t.children);
    }
  };
  walk(md.parse(markdown, {}));
  return out;
}

/** The anchors GitHub gives a document's headings. */
function anchorsOf(markdown: string): Set<string> {
  const slugger = new GithubSlugger();
  const tokens = md.parse(markdown, {});
  const anchors = new Set<string>();
  tokens.forEach((t, i) => {
    if (t.type === "heading_open") anchors.add(slugger.slug(tokens[i + 1]?.content ?? ""));
  });
  return anchors;
}

const inside = (path: string) => {
  const rel = relative(REPO, path);
  return !isAbsolute(rel) && rel !== ".." && !rel.startsWith(`..${sep}`);
};

/** What is wrong with one link of `file`, or undefined when it resolves inside the repository. */
function checkLink(file: string, target: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) {
    return /^(https?|mailto):/i.test(target) ? undefined : `${target}: not a web address`;
  }
  if (target.startsWith("//")) return undefined;
  if (target.startsWith("/")) return `${target}: an absolute path; link relative to ${file}`;
  const [rawPath = "", fragment] = target.split("#", 2);
  const path = rawPath ? resolve(REPO, dirname(file), decodeURIComponent(rawPath)) : join(REPO, file);
  if (!inside(path)) return `${target}: points outside the repository`;
  const rel = relative(REPO, path);
  const tracked = FILES.includes(rel) || FILES.some((f) => f.startsWith(`${rel}/`));
  if (!tracked || !existsSync(path)) return `${target}: ${rel} is not in the repository`;
  if (fragment && statSync(path).isFile() && path.endsWith(".md")) {
    if (!anchorsOf(readFileSync(path, "utf8")).has(fragment))
      return `${target}: ${rel} has no heading with the anchor #${fragment}`;
  }
  return undefined;
}

/** Notes that live beside the repository, not in it: nothing here may send a reader there. */
const OUTSIDE = [
  /\.\.\/shared\b/,
  /\bshared\/(DESIGN|CONVENTIONS)/,
  /\bDESIGN(\.md)?('s)? (section|§)/i,
  /\bDESIGN\.md\b/,
  /\bCONVENTIONS\.md\b/,
  /\/work\/(main|shared|wt)\b/,
];

describe("the repository's documents stand alone", () => {
  it("finds the Markdown files to check", () => {
    expect(MARKDOWN).toContain("README.md");
    expect(MARKDOWN.filter((f) => f.startsWith("docs/")).length).toBeGreaterThan(5);
  });

  it("resolves every relative link (and its heading) of every Markdown file inside the repository", () => {
    const broken = MARKDOWN.flatMap((file) =>
      linkTargets(readFileSync(join(REPO, file), "utf8")).flatMap((target) => {
        const problem = checkLink(file, target);
        return problem ? [`${file}: ${problem}`] : [];
      }),
    );
    expect(broken).toEqual([]);
  });

  it("refers to no design notes or paths outside the repository, in any file", () => {
    const found = TEXT.flatMap((file) => {
      const text = readFileSync(join(REPO, file), "utf8");
      return text
        .split("\n")
        .flatMap((line, i) =>
          OUTSIDE.some((re) => re.test(line)) ? [`${file}:${i + 1}: ${line.trim()}`] : [],
        );
    });
    expect(found).toEqual([]);
  });

  it("names only documents that exist when a file mentions one by its path", () => {
    const mention = /(?<![\w./<>-])((?:docs|bench|scripts|services|infra|test|policy)\/[\w./-]*\.md)\b/g;
    const missing = TEXT.flatMap((file) =>
      [...readFileSync(join(REPO, file), "utf8").matchAll(mention)]
        .map((m) => m[1]!)
        .filter((path) => !FILES.includes(path))
        .map((path) => `${file}: ${path}`),
    );
    expect([...new Set(missing)]).toEqual([]);
  });

  it("keeps the README a front page of at most 15 KB", () => {
    expect(statSync(join(REPO, "README.md")).size).toBeLessThanOrEqual(README_MAX_BYTES);
  });

  it("catches the links it exists to catch", () => {
    expect(checkLink("docs/a.md", "../../shared/DESIGN.md")).toMatch(/outside the repository/);
    expect(checkLink("README.md", "docs/nothing-here.md")).toMatch(/not in the repository/);
    expect(checkLink("README.md", "docs/verification.md#no-such-heading")).toMatch(/no heading/);
    expect(checkLink("README.md", "/etc/passwd")).toMatch(/absolute path/);
    expect(checkLink("README.md", "file:///etc/passwd")).toMatch(/not a web address/);
    expect(checkLink("docs/testing.md", "verification.md#state-backend")).toBeUndefined();
    expect(checkLink("README.md", "https://www.pulumi.com/docs/")).toBeUndefined();
    expect(linkTargets("`[x](../out.md)`\n\n```\n[y](../out.md)\n```\n[z](in.md)")).toEqual(["in.md"]);
  });
});
