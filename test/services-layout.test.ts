/**
 * Every app service has the one layout of docs/architecture.md ("Service layout"): HTTP entry
 * points under `src/entry-points/http/`, RabbitMQ consumers only in
 * `src/entry-points/messaging/consumers.ts`, outbound ports in `src/domain/ports.ts`, a domain
 * that never imports its implementations, and a README with the template's headings.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { MESSAGING } from "../infra/src/model/index.js";
import { APP_SERVICES } from "./support/design.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const ARCHITECTURE = readFileSync(join(ROOT, "docs/architecture.md"), "utf8");

/** Services with no HTTP routes of their own (only the runtime's /health, /ready, /metrics). */
const WITHOUT_HTTP = new Set(["payment"]);

function tsFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return tsFiles(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

/** The module specifiers of a file's static imports and re-exports, and of its dynamic imports. */
function importsOf(source: string): string[] {
  const specifiers: string[] = [];
  const patterns = [
    /^\s*(?:import|export)\b[^;]*?\bfrom\s*["']([^"']+)["']/gm,
    /^\s*import\s*["']([^"']+)["']/gm,
    /\bimport\s*\(\s*["']([^"']+)["']/g,
  ];
  for (const pattern of patterns) for (const m of source.matchAll(pattern)) specifiers.push(m[1]!);
  return specifiers;
}

/** The `## ` headings of the README template in docs/architecture.md, in order. */
function templateHeadings(): string[] {
  const template = /^## Service layout\n(?:(?!^## )[\s\S])*?^```markdown\n([\s\S]*?)\n```/m.exec(
    ARCHITECTURE,
  )?.[1];
  if (!template) throw new Error('docs/architecture.md, "## Service layout": no ```markdown template');
  return [...template.matchAll(/^## (.+)$/gm)].map((m) => m[1]!.trim());
}

const headingsOf = (markdown: string) =>
  markdown
    .replace(/```[\s\S]*?```/g, "")
    .split("\n")
    .filter((line) => /^#{1,2} /.test(line))
    .map((line) => line.trim());

describe("the services' layout", () => {
  it("checks every service folder with a src/main.ts, and those are the app services of the parts table", () => {
    const folders = readdirSync(join(ROOT, "services")).filter((name) =>
      existsSync(join(ROOT, "services", name, "src/main.ts")),
    );
    expect(folders.sort()).toEqual([...APP_SERVICES].sort());
    expect(folders.length).toBeGreaterThanOrEqual(8);
  });

  it("the README template has the headings the services' READMEs are checked for", () => {
    expect(templateHeadings()).toEqual(["Routes", "Events", "Stores", "Config", "Tests"]);
  });

  it("the importsOf reader sees every form of import", () => {
    const source = [
      'import type { A } from "../data-access/a.js";',
      "import {\n  b,\n  type C,\n} from '../data-access/b.js';",
      'export { d } from "./d.js";',
      'import "./side-effect.js";',
      'const e = await import("./e.js");',
    ].join("\n");
    expect(importsOf(source)).toEqual([
      "../data-access/a.js",
      "../data-access/b.js",
      "./d.js",
      "./side-effect.js",
      "./e.js",
    ]);
  });

  describe.each(APP_SERVICES)("%s", (name) => {
    const src = join(ROOT, "services", name, "src");
    const entryPoints = join(src, "entry-points");
    const consumes = MESSAGING.queues.some((q) => q.consumer === name);

    it("has only http/ and messaging/ under entry-points/, with http/ unless it serves no routes", () => {
      const entries = readdirSync(entryPoints).sort();
      for (const entry of entries) expect(statSync(join(entryPoints, entry)).isDirectory(), entry).toBe(true);
      const expected = [...(WITHOUT_HTTP.has(name) ? [] : ["http"]), ...(consumes ? ["messaging"] : [])];
      expect(entries).toEqual(expected);
    });

    it("consumes RabbitMQ only in entry-points/messaging/consumers.ts, and there iff the model gives it a queue", () => {
      const consumers = join(entryPoints, "messaging", "consumers.ts");
      const consuming = tsFiles(src).filter((file) =>
        /\bbroker\s*\.\s*consume\s*\(/i.test(readFileSync(file, "utf8")),
      );
      expect(consuming.map((file) => relative(src, file))).toEqual(
        consumes ? ["entry-points/messaging/consumers.ts"] : [],
      );
      expect(existsSync(consumers)).toBe(consumes);
    });

    it("declares its outbound ports in domain/ports.ts, and its domain never imports data-access/ or entry-points/", () => {
      expect(existsSync(join(src, "domain", "ports.ts"))).toBe(true);
      const offending: string[] = [];
      for (const file of tsFiles(join(src, "domain"))) {
        for (const specifier of importsOf(readFileSync(file, "utf8"))) {
          if (!specifier.startsWith(".")) continue;
          const target = relative(src, resolve(dirname(file), specifier));
          if (/^(data-access|entry-points)(\/|$)/.test(target))
            offending.push(`${relative(src, file)} imports ${specifier}`);
        }
      }
      expect(offending).toEqual([]);
    });

    it("entry points see stores only through domain/ports.ts", () => {
      const offending = tsFiles(entryPoints).flatMap((file) =>
        importsOf(readFileSync(file, "utf8"))
          .filter(
            (s) => s.startsWith(".") && relative(src, resolve(dirname(file), s)).startsWith("data-access/"),
          )
          .map((s) => `${relative(src, file)} imports ${s}`),
      );
      expect(offending).toEqual([]);
    });

    it("has a README with the template's headings, pointing to its config", () => {
      const path = join(ROOT, "services", name, "README.md");
      expect(existsSync(path)).toBe(true);
      const readme = readFileSync(path, "utf8");
      const headings = headingsOf(readme);
      expect(headings[0]).toBe(`# ${name}`);
      const sections = headings.filter((h) => h.startsWith("## ")).map((h) => h.slice(3));
      expect(sections).toEqual(templateHeadings());
      const config = readme.split(/^## /m).find((s) => s.startsWith("Config\n")) ?? "";
      expect(config).toContain("`src/config.ts`");
      expect(config).toContain("(../../docs/wiring.md");
    });
  });
});
