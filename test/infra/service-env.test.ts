import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { loadConfig } from "@shopstream/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { z } from "zod";
import { APP_SERVICES } from "../support/design.js";
import { envOf, labelOf, type RecordedResource, runStack, type StackRun, TYPES } from "./mocks.js";

let run: StackRun;
let scratch: string;

beforeAll(async () => {
  run = await runStack({});
  scratch = mkdtempSync(join(tmpdir(), "shopstream-env-"));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/**
 * The env a container receives, with each `/run/secrets/...` path moved into a temp folder that
 * holds what the carrier container uploads there.
 */
function envWithFiles(container: RecordedResource, name: string): Record<string, string> {
  const uploads = (run.ofType(TYPES.container).find((c) => c.name === `${name}-files`)?.inputs.uploads ??
    []) as {
    file: string;
    content: string;
  }[];
  const env = envOf(container);
  for (const [key, path] of Object.entries(env)) {
    if (!key.endsWith("_FILE")) continue;
    const upload = uploads.find((u) => u.file === path);
    if (!upload) throw new Error(`${name}: ${key}=${path} has no uploaded file`);
    const local = join(scratch, name, path);
    mkdirSync(dirname(local), { recursive: true });
    writeFileSync(local, upload.content);
    env[key] = local;
  }
  return env;
}

describe("the env each service receives satisfies that service's own config schema", () => {
  it.for(APP_SERVICES)("%s", async (name) => {
    const schemaFile = resolve("services", name, "src", "config.ts");
    const { configSchema } = (await import(/* @vite-ignore */ pathToFileURL(schemaFile).href)) as {
      configSchema: z.ZodType;
    };
    const container = run
      .ofType(TYPES.container)
      .find(
        (c) =>
          labelOf(c, "com.shopstream.workload") === name && labelOf(c, "com.shopstream.role") === "workload",
      )!;
    const config = loadConfig(configSchema, envWithFiles(container, name)) as Record<string, unknown>;
    // Secrets arrive through their files, with the generated value.
    for (const [key, value] of Object.entries(config)) {
      if (/PASSWORD|SECRET_KEY|SIGNING_KEY/.test(key) && typeof value === "string" && value !== "guest") {
        // Files are read with one trailing newline trimmed (PEM keys end with one).
        expect(
          run.secretValues.map((v) => v.replace(/\r?\n$/, "")),
          key,
        ).toContain(value);
      }
    }
  });
});
