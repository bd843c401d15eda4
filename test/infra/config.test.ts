import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { KNOWN_KEYS, parseStackConfig, platformSettings } from "../../infra/src/config.js";
import { CONFIGURATION_DOC, settingRows, withSettingsTable } from "../../scripts/settings-doc.js";
import { runStack } from "./mocks.js";

const yamlName = "js-yaml";
const yaml = (await import(yamlName)) as { load(text: string): unknown };

/** The `shopstream:` settings of a Pulumi.<stack>.yaml as `pulumi config` hands them over. */
function stackFile(path: string): Record<string, string> {
  const doc = yaml.load(readFileSync(path, "utf8")) as { config: Record<string, unknown> };
  return Object.fromEntries(
    Object.entries(doc.config)
      .filter(([k]) => k.startsWith("shopstream:"))
      .map(([k, v]) => [
        k.slice("shopstream:".length),
        typeof v === "object" ? JSON.stringify(v) : String(v),
      ]),
  );
}

describe("stack configuration", () => {
  it("accepts Pulumi.dev.yaml as it is: Docker on one host, self-signed TLS on 8443", () => {
    const config = parseStackConfig(stackFile("Pulumi.dev.yaml"), "dev");
    expect(config.target).toBe("docker");
    expect(config.docker.swarm).toBe(false);
    expect(config.tls.mode).toBe("self-signed");
    expect(config.httpsPort).toBe(8443);
    const settings = platformSettings(config);
    expect(settings.hosts.app).toBe("shopstream.localhost");
    expect(settings.publicScheme).toBe("https");
  });

  it.each([
    [{ appReplicas: 0 }, "shopstream:appReplicas must be an integer between 1 and 20"],
    [{ appReplicas: "two" }, "shopstream:appReplicas must be an integer between 1 and 20"],
    [{ maxReplicas: 2, appReplicas: 3 }, "shopstream:maxReplicas must be 0 or at least appReplicas"],
    [{ search: "solr" }, "shopstream:search must be one of elasticsearch, mariadb"],
    [{ docker: { swarm: "yes" } }, "shopstream:docker.swarm must be true or false"],
    [{ docker: { swram: true } }, "shopstream:docker.swram is not a known setting"],
    [{ tls: { mode: "acme" } }, "shopstream:tls.acmeEmail is required when tls.mode is acme"],
    [{ tls: { mode: "acme", acmeEmail: "ops@example.com" } }, "shopstream:domain must be a public domain"],
    [{ registry: { push: true } }, "shopstream:registry.server is required when registry.push is true"],
    [{ resourceScale: 100 }, "shopstream:resourceScale must be a number between 0.25 and 8"],
    [{ domain: "Shop Stream" }, "shopstream:domain must be a lower-case DNS name"],
    [{ appReplica: 2 }, "shopstream:appReplica is not a setting of this program"],
    [{ target: "kubernetes" }, "shopstream:registry.server is required when target is kubernetes"],
  ])("stops the program before any resource when %j, naming the key", async (settings, message) => {
    await expect(runStack(settings)).rejects.toThrow(message);
  });

  it("documents every key it reads, on its schema", () => {
    // settingRows() throws on a setting whose schema has no description.
    const documented = settingRows().map((r) => r.key.split(".")[0]);
    for (const key of KNOWN_KEYS) expect(documented, key).toContain(key);
  });

  it("docs/configuration.md's table of settings is what `npm run docs:settings` generates from the schemas", () => {
    // On a mismatch, run `npm run docs:settings` and commit the result.
    const doc = readFileSync(CONFIGURATION_DOC, "utf8");
    expect(doc).toBe(withSettingsTable(doc));
  });
});
