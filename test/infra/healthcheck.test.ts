import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { buildPlatform, localSettings, REPO_ROOT } from "@shopstream/infra/model";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bashHttpProbe, healthcheckTest, healthcheckTiming } from "../../infra/src/docker/render.js";

const platform = buildPlatform(localSettings({ environment: "dev" }));
const apps = platform.workloads.filter(
  (w) => w.image.kind === "build" && w.image.dockerfile === "services/Dockerfile",
);

/** The HEALTHCHECK instruction of services/Dockerfile: its flags and its exec-form command. */
function dockerfileHealthcheck() {
  const text = readFileSync(join(REPO_ROOT, "services/Dockerfile"), "utf8").replace(/\\\n\s*/g, "");
  const line = /^HEALTHCHECK (.*) CMD (\[.*\])$/m.exec(text);
  if (!line) throw new Error("services/Dockerfile has no exec-form HEALTHCHECK");
  const flags = Object.fromEntries([...line[1]!.matchAll(/--([a-z-]+)=(\S+)/g)].map((m) => [m[1], m[2]]));
  return { flags, command: JSON.parse(line[2]!) as string[] };
}

describe("the app services' health checks", () => {
  it("never start a runtime per probe: bash's /dev/tcp, no node, no curl", () => {
    expect(apps.length).toBe(8);
    for (const w of apps) {
      const test = healthcheckTest(w)!;
      expect(test.slice(0, 3), w.name).toEqual(["CMD", "bash", "-c"]);
      expect(test.join(" "), w.name).not.toMatch(/\bnode\b|curl|wget/);
    }
  });

  it("are the same in the image (services/Dockerfile) as in the model, timings included", () => {
    const { flags, command } = dockerfileHealthcheck();
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell expansion, for bash
    expect(command).toEqual(["bash", "-c", bashHttpProbe("${PORT:?PORT is not set}", "/health")]);
    for (const w of apps) {
      const port = String(w.ports[0]!.port);
      expect(healthcheckTest(w), w.name).toEqual([
        "CMD",
        ...command.slice(0, 2),
        bashHttpProbe(port, "/health"),
      ]);
      // Docker reads `60s` and `1m0s` alike; the model writes the provider's read-back form.
      const t = healthcheckTiming(w);
      const seconds = (d: string) =>
        [...d.matchAll(/(\d+)([hms])/g)].reduce(
          (sum, [, n, unit]) => sum + Number(n) * { h: 3600, m: 60, s: 1 }[unit as "h" | "m" | "s"],
          0,
        );
      expect(
        {
          interval: seconds(flags.interval!),
          timeout: seconds(flags.timeout!),
          startPeriod: seconds(flags["start-period"]!),
          retries: flags.retries,
        },
        w.name,
      ).toEqual({
        interval: seconds(t.interval),
        timeout: seconds(t.timeout),
        startPeriod: seconds(t.startPeriod),
        retries: String(t.retries),
      });
    }
  });
});

describe("the image's probe, run by bash as Docker runs it", () => {
  let server: Server;
  let port = 0;
  let status = 200;
  beforeAll(async () => {
    server = createServer((req, res) => {
      res.writeHead(req.url === "/health" ? status : 404, { "content-type": "application/json" });
      res.end('{"status":"ok"}');
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  /** The Dockerfile's command as Docker runs it (argv, no shell of its own); async, as the server is in this process. */
  const probe = (env: Record<string, string>) =>
    new Promise<{ status: number | null; stderr: string }>((resolve) => {
      const { command } = dockerfileHealthcheck();
      const child = spawn(command[0]!, command.slice(1), { env: { PATH: process.env.PATH!, ...env } });
      let stderr = "";
      child.stderr.on("data", (chunk) => {
        stderr += chunk;
      });
      child.on("close", (status) => resolve({ status, stderr }));
    });

  it("passes on 200 from /health and fails on anything else, on a closed port or without PORT", async () => {
    status = 200;
    expect((await probe({ PORT: String(port) })).status).toBe(0);
    status = 503;
    expect((await probe({ PORT: String(port) })).status).not.toBe(0);
    expect((await probe({ PORT: "1" })).status).not.toBe(0);
    const unset = await probe({});
    expect(unset.status).not.toBe(0);
    expect(unset.stderr).toContain("PORT is not set");
  });
});
