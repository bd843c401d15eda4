import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { buildPlatform, contentTag, localSettings } from "../../infra/src/model/index.js";

const root = mkdtempSync(join(tmpdir(), "content-tag-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const write = (path: string, content: string) => {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), content);
};

describe("the image content tag", () => {
  // A build context like this repository's: an allowlist .dockerignore that keeps tests out.
  write(".dockerignore", "*\n!package.json\n!.npmrc\n!services/\n**/test\n**/*.test.ts\n");
  write("package.json", "{}");
  write(".npmrc", "fund=false\n");
  write("services/Dockerfile", "FROM node\n");
  write("services/order/src/main.ts", "export {};\n");
  write("services/order/test/order.test.ts", "it();\n");
  const app = buildPlatform(localSettings()).workloads.find((w) => w.name === "order")!;
  const sources = app.image.kind === "build" ? (app.image.sources ?? []) : [];
  const tag = () => contentTag(root, sources, { SERVICE: "order" }, "services/Dockerfile");

  it("hashes every file of the image's build, .npmrc included", () => {
    expect(sources).toContain(".npmrc");
    const before = tag();
    write(".npmrc", "fund=false\nregistry=https://mirror.example.com/\n");
    expect(tag()).not.toBe(before);
    const next = tag();
    write("services/order/src/main.ts", "export const x = 1;\n");
    expect(tag()).not.toBe(next);
  });

  it("ignores what the build context leaves out, such as tests", () => {
    const before = tag();
    write("services/order/test/order.test.ts", "it('changed');\n");
    write("services/order/src/extra.test.ts", "it();\n");
    expect(tag()).toBe(before);
  });
});
