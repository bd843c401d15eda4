/**
 * The generated configuration files of the dev stack, checked by the programs that read them
 * (Debian's builds, installed by .ci/run): `promtool` for Prometheus's config and rules,
 * `amtool` for Alertmanager's, and a throwaway `redis-server` on its own port started on the
 * generated ACL, with every user the ACL defines authenticating. Versions differ from the pinned
 * images (Debian's Prometheus 2.42, Alertmanager 0.25, Redis 7.0): docs/verification.md says what
 * that leaves open. Nothing here touches the machine's shared Redis.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseStackConfig, platformSettings } from "../../infra/src/config.js";
import {
  type ConfigFileContext,
  mountPathOf,
  renderConfigFiles,
  renderSecretFiles,
} from "../../infra/src/config-files/index.js";
import { buildPlatform, containerResolver } from "../../infra/src/model/index.js";

const dir = mkdtempSync(join(tmpdir(), "config-programs-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const config = parseStackConfig({ httpPort: "8080", httpsPort: "8443" }, "dev");
const platform = buildPlatform(platformSettings(config));
const ctx: ConfigFileContext = {
  platform,
  host: containerResolver.host,
  scrapeDiscovery: (w, port) => ({ static_configs: [{ targets: [`${w.name}:${port}`] }] }),
  logDiscovery: "docker",
  edge: { tls: { mode: "self-signed" }, httpsPort: 8443 },
};
const files = renderConfigFiles(ctx);
const password = (name: string) =>
  createHash("sha256").update(`config-programs:${name}`).digest("hex").slice(0, 32);
const secretInputs = {
  rabbitmqPassword: password("rabbitmq"),
  redisPassword: password("redis"),
  dashboardPasswordBcrypt: "$2a$10$abcdefghijklmnopqrstuuYDpAZt1ZDfX7n1v7w6ZoE4K8c0cR1wW",
};
const secrets = renderSecretFiles(platform, secretInputs);
/** Every password given to the generators, however they are nested (one per user, or shared). */
const candidates = (function flatten(v: unknown): string[] {
  if (typeof v === "string") return [v];
  if (v && typeof v === "object") return Object.values(v).flatMap(flatten);
  return [];
})(secretInputs);
const sha256 = (s: string) => createHash("sha256").update(s, "utf8").digest("hex");

/** Writes a generated file where its workload mounts it, under the scratch folder. */
function place(name: string, content: string): string {
  const path = join(dir, mountPathOf(platform, name));
  execFileSync("mkdir", ["-p", path.slice(0, path.lastIndexOf("/"))]);
  writeFileSync(path, content);
  return path;
}

function need(program: string, pkg: string): void {
  try {
    execFileSync("sh", ["-c", `command -v ${program}`], { stdio: "ignore" });
  } catch {
    throw new Error(`${program} is missing: apt-get install ${pkg} (.ci/run installs it)`);
  }
}

function run(program: string, args: string[]): { code: number; out: string } {
  try {
    return { code: 0, out: execFileSync(program, args, { encoding: "utf8", stdio: "pipe" }) };
  } catch (err) {
    const e = err as { status: number; stdout: string; stderr: string };
    return { code: e.status, out: `${e.stdout}${e.stderr}` };
  }
}

describe("Prometheus and Alertmanager read the generated files", () => {
  it("promtool accepts the Prometheus configuration and its alert rules", () => {
    need("promtool", "prometheus");
    // Rule files are referenced by their mount path: place both where Prometheus mounts them.
    place("prometheus-alerts", files["prometheus-alerts"]!);
    const rules = run("promtool", ["check", "rules", join(dir, mountPathOf(platform, "prometheus-alerts"))]);
    expect(rules.code, rules.out).toBe(0);
    expect(rules.out).toMatch(/SUCCESS: \d+ rules found/);
    const cfg = place(
      "prometheus-config",
      files["prometheus-config"]!.replaceAll(
        mountPathOf(platform, "prometheus-alerts"),
        join(dir, mountPathOf(platform, "prometheus-alerts")),
      ),
    );
    const checked = run("promtool", ["check", "config", "--syntax-only", cfg]);
    expect(checked.code, checked.out).toBe(0);
  });

  it("promtool refuses a broken rule (the check can fail)", () => {
    need("promtool", "prometheus");
    const broken = place("prometheus-alerts", files["prometheus-alerts"]!.replace("up == 0", "up == == 0"));
    expect(run("promtool", ["check", "rules", broken]).code).not.toBe(0);
  });

  it("amtool accepts the Alertmanager configuration", () => {
    need("amtool", "prometheus-alertmanager");
    const path = place("alertmanager-config", files["alertmanager-config"]!);
    const checked = run("amtool", ["check-config", path]);
    expect(checked.code, checked.out).toBe(0);
    const broken = place(
      "alertmanager-config",
      files["alertmanager-config"]!.replace("receiver: on-call", "receiver: nobody"),
    );
    expect(run("amtool", ["check-config", broken]).code).not.toBe(0);
  });
});

describe("Redis started on the generated ACL", () => {
  let server: ChildProcess | undefined;
  let port = 0;
  const acl = secrets["redis-acl"]!;

  beforeAll(async () => {
    need("redis-server", "redis-server");
    port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, "127.0.0.1", () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const aclPath = join(dir, "redis.acl");
    writeFileSync(aclPath, acl);
    const redis = workloadArgs("redis");
    // The workload's own arguments, with the data dir and the ACL path of this scratch folder.
    const args = redis
      .slice(1)
      .map((a) => (a === "/data" ? dir : a === mountPathOf(platform, "redis-acl") ? aclPath : a));
    server = spawn("redis-server", [...args, "--port", String(port), "--bind", "127.0.0.1", "--save", ""], {
      stdio: "ignore",
    });
    // Wait for the state the start caused: the port answering.
    const deadline = Date.now() + 10_000;
    for (;;) {
      const open = await new Promise<boolean>((resolve) => {
        const socket = connect(port, "127.0.0.1")
          .once("connect", () => {
            socket.destroy();
            resolve(true);
          })
          .once("error", () => resolve(false));
      });
      if (open) break;
      if (Date.now() > deadline) throw new Error("redis-server did not start on the generated ACL");
      await new Promise((r) => setTimeout(r, 100));
    }
  });
  afterAll(() => {
    server?.kill("SIGTERM");
  });

  /** Every user the generated ACL defines, with the generator input whose SHA-256 it holds. */
  const users = () =>
    acl
      .split("\n")
      .filter((l) => l.startsWith("user "))
      .map((l) => {
        const name = l.split(" ")[1]!;
        const hash = /#([0-9a-f]{64})/.exec(l)?.[1];
        const secret = candidates.find((c) => sha256(c) === hash);
        if (!secret) throw new Error(`the ACL's user ${name} has no password among the generator's inputs`);
        return { name, secret };
      });

  it("lets every user of the ACL in with its password, and no one without", async () => {
    expect(users().length).toBeGreaterThan(0);
    for (const { name: user, secret } of users()) {
      const c = createClient({ url: `redis://127.0.0.1:${port}`, username: user, password: secret });
      await c.connect();
      expect(await c.ping(), user).toBe("PONG");
      await c.destroy();
    }
    const anonymous = createClient({
      url: `redis://127.0.0.1:${port}`,
      socket: { reconnectStrategy: false },
    });
    await expect(anonymous.connect()).rejects.toThrow(/NOAUTH/);
    const wrong = createClient({
      url: `redis://127.0.0.1:${port}`,
      password: "not-the-password",
      socket: { reconnectStrategy: false },
    });
    await expect(wrong.connect()).rejects.toThrow(/WRONGPASS|invalid/i);
  });
});

function workloadArgs(name: string): string[] {
  const w = platform.workloads.find((x) => x.name === name);
  if (!w?.args) throw new Error(`${name} has no arguments`);
  return w.args;
}
