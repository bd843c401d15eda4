/**
 * `npm run dev` on a machine without stores but with a Docker engine (item: a newcomer without
 * local stores). Runs against the real engine with the stand-in images of
 * scripts/replay/standins (built here when missing), on ports of its own, under its own
 * container prefix and state folder; removes its containers and volumes at the end.
 *
 * Not part of `npm test`: it uses the shared engine heavily. Run it as
 * `flock /tmp/shopstream-fixed.lock npm run test:stores` (CI runs it after the replay).
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { docker, engineAnswers } from "../../infra/src/local/stores.js";
import { baseEnv, freePort, REPO, startDev } from "./dev.js";

const STANDINS = ["mariadb", "redis", "rabbitmq"] as const;
const prefix = `sstest-${randomBytes(3).toString("hex")}`;
const stateDir = mkdtempSync(join(tmpdir(), "shopstream-stores-"));
let env: NodeJS.ProcessEnv;
let ports: Record<string, number>;

async function exists(kind: "container" | "volume" | "image", name: string) {
  return docker([kind, "inspect", name], 15_000).then(
    () => true,
    () => false,
  );
}

const inspect = async (name: string) => JSON.parse(await docker(["container", "inspect", name]))[0];

beforeAll(async () => {
  if (!(await engineAnswers())) throw new Error("no Docker engine answers: run bash .ci/ensure-docker.sh");
  // The stand-ins of the pinned images (this machine reaches no registry); built once.
  for (const target of STANDINS) {
    const tag = `shopstream-local-stores-test/${target}:standin`;
    if (await exists("image", tag)) continue;
    await docker(
      [
        "build",
        "-q",
        "-f",
        join(REPO, "scripts/replay/standins/Dockerfile"),
        "--target",
        target,
        "-t",
        tag,
        join(REPO, "scripts/replay/standins"),
      ],
      900_000,
    );
  }
  ports = {
    mariadb: await freePort(),
    redis: await freePort(),
    rabbitmq: await freePort(),
    management: await freePort(),
    gateway: await freePort(),
  };
  env = baseEnv({
    LOCAL_STORES_PREFIX: prefix,
    SHOPSTREAM_STATE_DIR: stateDir,
    LOCAL_MARIADB_PORT: String(ports.mariadb),
    LOCAL_REDIS_PORT: String(ports.redis),
    LOCAL_RABBITMQ_PORT: String(ports.rabbitmq),
    LOCAL_RABBITMQ_MANAGEMENT_PORT: String(ports.management),
    LOCAL_MARIADB_IMAGE: "shopstream-local-stores-test/mariadb:standin",
    LOCAL_REDIS_IMAGE: "shopstream-local-stores-test/redis:standin",
    LOCAL_RABBITMQ_IMAGE: "shopstream-local-stores-test/rabbitmq:standin",
    // The services on ports of their own, beside any other run on this machine.
    LOCAL_PORT_OFFSET: String(20_000 + (process.pid % 5000)),
    GATEWAY_PORT: String(ports.gateway),
  });
}, 1_200_000);

afterAll(async () => {
  for (const s of STANDINS) {
    await docker(["rm", "--force", "--volumes", `${prefix}-${s}`]).catch(() => undefined);
    await docker(["volume", "rm", "--force", `${prefix}-${s}-data`]).catch(() => undefined);
  }
  rmSync(stateDir, { recursive: true, force: true });
}, 120_000);

describe("npm run dev with a Docker engine and no stores", () => {
  it("without a terminal and without --start-stores, says how to start them and starts nothing", async () => {
    const dev = startDev([], env);
    expect(await dev.exited).toBe(1);
    expect(dev.output()).toContain("MariaDB cannot be reached");
    expect(dev.output()).toContain("`npm run dev -- --start-stores` (or SHOPSTREAM_START_STORES=1) starts");
    for (const s of STANDINS) expect(await exists("container", `${prefix}-${s}`), s).toBe(false);
  }, 60_000);

  it("with --start-stores, starts them as containers, waits for them and serves the shop", async () => {
    const dev = startDev(["--start-stores"], env);
    await dev.waitFor(/ShopStream is ready/, 420_000);
    for (const store of ["MariaDB", "Redis", "RabbitMQ"])
      expect(dev.output()).toContain(`stores: ${store}: ready`);
    const res = await fetch(`http://127.0.0.1:${ports.gateway}/api/products?limit=5`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { items: unknown[] }).items.length).toBeGreaterThan(0);
    dev.child.kill("SIGINT");
    expect(await dev.exited).toBe(0);

    for (const s of STANDINS) {
      const c = await inspect(`${prefix}-${s}`);
      // Left running, on loopback only, its data in the named volume.
      expect(c.State.Running, s).toBe(true);
      expect(c.Config.Image, s).toBe(`shopstream-local-stores-test/${s}:standin`);
      const bindings = Object.values(
        c.HostConfig.PortBindings as Record<string, { HostIp: string }[]>,
      ).flat();
      expect(bindings.length, s).toBeGreaterThan(0);
      for (const b of bindings) expect(b.HostIp, s).toBe("127.0.0.1");
      expect(
        (c.Mounts as { Type: string; Name?: string }[]).some(
          (m) => m.Type === "volume" && m.Name === `${prefix}-${s}-data`,
        ),
        s,
      ).toBe(true);
    }
    // The generated root password is the run's state (0600), read from a file, in no env value.
    const passwordFile = join(stateDir, `${prefix}-mariadb-root-password`);
    expect(statSync(passwordFile).mode & 0o777).toBe(0o600);
    const mariadb = await inspect(`${prefix}-mariadb`);
    expect((mariadb.Config.Env as string[]).some((e) => e.startsWith("MARIADB_ROOT_PASSWORD="))).toBe(false);
  }, 600_000);

  it("uses the running containers next time, and --remove-stores removes them and their volumes on exit", async () => {
    const before = (await inspect(`${prefix}-mariadb`)).Id;
    const dev = startDev(["--remove-stores"], env);
    await dev.waitFor(/ShopStream is ready/, 300_000);
    expect(dev.output()).not.toContain("creating the container");
    const res = await fetch(`http://127.0.0.1:${ports.gateway}/api/products?limit=1`);
    expect(res.status).toBe(200);
    dev.child.kill("SIGINT");
    expect(await dev.exited).toBe(0);
    expect(dev.output()).toContain(`stores: MariaDB: removed the container ${prefix}-mariadb`);
    expect(before).toMatch(/^[0-9a-f]{64}$/);
    for (const s of STANDINS) {
      expect(await exists("container", `${prefix}-${s}`), s).toBe(false);
      expect(await exists("volume", `${prefix}-${s}-data`), s).toBe(false);
    }
  }, 600_000);
});
