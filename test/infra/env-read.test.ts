import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import {
  buildPlatform,
  containerResolver,
  localSettings,
  type PlatformSettings,
  renderEnv,
} from "@shopstream/infra/model";
import { serviceTokenEnv, TRACING_ENV_KEYS } from "@shopstream/runtime";
import { describe, expect, it } from "vitest";
import type { z } from "zod";
import { APP_SERVICES } from "../support/design.js";

/**
 * Keys no service schema reads because something below the service does: the runtime itself for
 * every service (services/runtime/src/service-tokens.ts, trust-proxy.ts, tracing.ts, logger.ts),
 * Node.js and glibc.
 */
const READ_BELOW_THE_SERVICE = new Set<string>([
  ...Object.keys(serviceTokenEnv),
  ...TRACING_ENV_KEYS,
  "SERVICE_VERSION",
  "TRUST_PROXY",
  "NODE_OPTIONS",
  "MALLOC_MMAP_THRESHOLD_",
]);

/** Every combination of settings that changes which keys the model renders. */
const VARIANTS: Partial<PlatformSettings>[] = [];
for (const environment of ["local", "dev"])
  for (const search of ["mariadb", "elasticsearch"] as const)
    for (const images of ["local", "minio"] as const)
      for (const rateLimits of ["enforced", "lifted"] as const)
        VARIANTS.push({ environment, search, images, rateLimits });

/** The variables a service's config schema reads (a secret's `NAME_FILE` reads as `NAME`). */
async function schemaKeys(service: string): Promise<Set<string>> {
  const file = pathToFileURL(resolve("services", service, "src", "config.ts")).href;
  const { configSchema } = (await import(/* @vite-ignore */ file)) as { configSchema: z.ZodObject };
  return new Set(Object.keys(configSchema.shape));
}

describe("every variable the model renders for a service is read by that service", () => {
  it.for(APP_SERVICES)("%s", async (service) => {
    const read = await schemaKeys(service);
    const unread = new Set<string>();
    for (const variant of VARIANTS) {
      const platform = buildPlatform(localSettings(variant));
      const workload = platform.workloads.find((w) => w.name === service)!;
      for (const key of Object.keys(renderEnv(platform, workload, containerResolver))) {
        const name = key.endsWith("_FILE") && !read.has(key) ? key.slice(0, -"_FILE".length) : key;
        if (!read.has(name) && !READ_BELOW_THE_SERVICE.has(name)) unread.add(key);
      }
    }
    // A key here is wiring nobody uses (an env value, maybe a secret mount, a dependency, a network).
    expect([...unread].sort()).toEqual([]);
  });
});
