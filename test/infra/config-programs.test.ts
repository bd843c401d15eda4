/**
 * The generated configuration files of the dev stack, checked by the programs that read them
 * (Debian's builds, installed by .ci/run): `promtool` for Prometheus's config and rules,
 * `amtool` for Alertmanager's, and a throwaway `redis-server` on its own port started on the
 * generated ACL, with every user the ACL defines authenticating. Versions differ from the pinned
 * images (Debian's Prometheus 2.42, Alertmanager 0.25, Redis 7.0, nginx 1.22, MariaDB 10.11,
 * RabbitMQ 3.10): docs/verification.md says what that leaves open. `nginx -t` reads the
 * storefront's configuration; a throwaway `mariadbd` (own data directory, port and socket) runs
 * the generated init script and every service user connects with its password; a throwaway
 * RabbitMQ node (own node name, ports, epmd and data directory) imports the generated
 * definitions and every user in them authenticates. Nothing here touches the machine's shared
 * MariaDB, Redis or RabbitMQ.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import amqp from "amqplib";
import * as mariadb from "mariadb";
import { createClient, RESP_TYPES } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseStackConfig, platformSettings } from "../../infra/src/config.js";
import {
  type ConfigFileContext,
  mountPathOf,
  REDIS_KEY_PREFIX,
  rabbitmqPasswordHash,
  renderConfigFiles,
  renderSecretFiles,
  servicePasswordSecrets,
} from "../../infra/src/config-files/index.js";
import {
  brokerNames,
  buildPlatform,
  containerResolver,
  type RedisAccess,
  type RedisInstance,
  SECRETS_DIR,
} from "../../infra/src/model/index.js";
import { expectEveryBrokerUser } from "../support/broker-access.js";
import { freePort, need, portOpen, run } from "./programs.js";

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
  passwords: Object.fromEntries(servicePasswordSecrets(platform).map((n) => [n, password(n)])),
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

/** A throwaway redis-server on its own port, on an instance's generated arguments and ACL file. */
async function startRedis(
  instance: RedisInstance,
  /** Argument values to use instead of the generated ones, by option. */
  instead: Record<string, string> = {},
  /** ACL lines of the test's own after the generated ones (an observer). */
  extraUsers: string[] = [],
): Promise<{ server: ChildProcess; port: number }> {
  const port = await freePort();
  const data = join(dir, instance);
  execFileSync("mkdir", ["-p", data]);
  const aclFile = `${instance}-acl`;
  const aclPath = join(data, "redis.acl");
  writeFileSync(aclPath, [secrets[aclFile]!, ...extraUsers.map((l) => `${l}\n`)].join(""));
  // The workload's own arguments, with the data dir and the ACL path of this scratch folder.
  const args = workloadArgs(instance)
    .slice(1)
    .map((a, i, all) => instead[all[i - 1] ?? ""] ?? a)
    .map((a) => (a === "/data" ? data : a === mountPathOf(platform, aclFile) ? aclPath : a));
  const server = spawn("redis-server", [...args, "--port", String(port), "--bind", "127.0.0.1"], {
    stdio: "ignore",
    cwd: data,
  });
  // Wait for the state the start caused: the port answering.
  await portOpen(port, `redis-server on the generated ${aclFile}`, 10_000, () => server.exitCode === null);
  return { server, port };
}

/** Every enabled user an ACL file defines, with the generator input whose SHA-256 it holds. */
const aclUsers = (acl: string) =>
  acl
    .split("\n")
    .filter((l) => l.startsWith("user ") && l.split(" ").includes("on"))
    .map((l) => {
      const name = l.split(" ")[1]!;
      const hash = /#([0-9a-f]{64})/.exec(l)?.[1];
      const secret = candidates.find((c) => sha256(c) === hash);
      if (!secret) throw new Error(`the ACL's user ${name} has no password among the generator's inputs`);
      return { name, secret };
    });

/** The model's Redis users on one instance, with the service they belong to. */
const accessOn = (instance: RedisInstance) =>
  platform.workloads.flatMap((w) =>
    (w.redis ?? []).filter((r) => r.instance === instance).map((access) => ({ service: w.name, access })),
  );

const KiB = 1024;
const OBSERVER = { user: "config-check-observer", password: password("observer") };

describe("Redis started on the generated arguments and ACL files", () => {
  let main: { server: ChildProcess; port: number } | undefined;
  let cache: { server: ChildProcess; port: number } | undefined;
  const clients: { isOpen: boolean; destroy(): void }[] = [];
  /** A connected client of `access`'s user on the server at `port`. */
  const as = async (port: number, access: RedisAccess) => {
    const c = createClient({
      url: `redis://127.0.0.1:${port}`,
      username: access.user,
      password: password(access.passwordSecret),
      socket: { reconnectStrategy: false },
    });
    c.on("error", () => undefined);
    clients.push(c);
    await c.connect();
    return c;
  };
  const serviceAccess = (service: string, instance: RedisInstance) =>
    accessOn(instance).find((u) => u.service === service)!.access;

  beforeAll(async () => {
    need("redis-server", "redis-server");
    // The main instance at a cap of 8 MB instead of its generated one, so that filling it (the
    // last test) appends 8 MB to its AOF rather than the full cap: the cap's size is checked on
    // the arguments. Everything else as generated (AOF on; no RDB snapshot in the scratch folder).
    main = await startRedis("redis", { "--maxmemory": "8mb" });
    // The cache instance exactly as generated, plus an observer of the test's own that reads
    // what the services' users may not (eviction counts, a key's idle time).
    cache = await startRedis("redis-cache", {}, [`user ${OBSERVER.user} on >${OBSERVER.password} ~* +@all`]);
  });
  afterAll(async () => {
    for (const c of clients) if (c.isOpen) c.destroy();
    await Promise.all([stop(main?.server), stop(cache?.server)]);
  });

  it("runs the main instance with a memory cap below the container's limit, evicting nothing (carts and sessions stay)", () => {
    const args = workloadArgs("redis");
    const limit = platform.workloads.find((w) => w.name === "redis")!.resources.memoryMiB;
    const cap = args[args.indexOf("--maxmemory") + 1]!;
    expect(cap).toMatch(/^\d+mb$/);
    expect(Number.parseInt(cap, 10)).toBeGreaterThan(0);
    expect(Number.parseInt(cap, 10)).toBeLessThanOrEqual(limit * 0.6);
    expect(args[args.indexOf("--maxmemory-policy") + 1]).toBe("noeviction");
  });

  it("runs the cache instance at 60 % of its limit, evicting only keys with a TTL, and keeping nothing", () => {
    const w = platform.workloads.find((x) => x.name === "redis-cache")!;
    const args = workloadArgs("redis-cache");
    const cap = args[args.indexOf("--maxmemory") + 1]!;
    expect(cap).toBe(`${Math.floor(w.resources.memoryMiB * 0.6)}mb`);
    expect(args[args.indexOf("--maxmemory-policy") + 1]).toBe("volatile-lru");
    // No RDB snapshot, no AOF, no volume: a restart starts it empty.
    expect(args[args.indexOf("--save") + 1]).toBe("");
    expect(args[args.indexOf("--appendonly") + 1]).toBe("no");
    expect(w.volumes).toEqual([]);
    expect(w.stateful).toBe(false);
  });

  it("lets every user of each ACL in with its password, and no one without", async () => {
    for (const [instance, port] of [
      ["redis", main!.port],
      ["redis-cache", cache!.port],
    ] as const) {
      const users = aclUsers(secrets[`${instance}-acl`]!);
      expect(users.map((u) => u.name)).toEqual(accessOn(instance).map((u) => u.access.user));
      for (const { name: user, secret } of users) {
        const c = createClient({ url: `redis://127.0.0.1:${port}`, username: user, password: secret });
        await c.connect();
        // A subscribe-only user may not even PING: AUTH alone shows it is in.
        if (
          accessOn(instance)
            .find((u) => u.access.user === user)!
            .access.commands.includes("ping")
        )
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
    }
    // Product keeps nothing in the main instance: its cache user does not exist there.
    await expect(as(main!.port, serviceAccess("product", "redis-cache"))).rejects.toThrow(/WRONGPASS/);
  });

  it("holds each service's user on the main instance to its own keys, channels and commands", async () => {
    const services = accessOn("redis");
    expect(services.length).toBeGreaterThan(0);
    const connected = new Map<string, Awaited<ReturnType<typeof as>>>();
    for (const { service, access } of services) connected.set(service, await as(main!.port, access));
    for (const { service, access } of services) {
      const c = connected.get(service)!;
      const own = `${REDIS_KEY_PREFIX}${access.keys[0]}:config-check`;
      if (access.commands.includes("set")) await c.set(own, "1");
      if (access.commands.includes("get")) await c.get(own);
      for (const other of services.filter((o) => o.service !== service)) {
        for (const family of other.access.keys) {
          const theirs = `${REDIS_KEY_PREFIX}${family}:config-check`;
          // Another service's keys: neither read nor written, whatever the command.
          await expect(c.sendCommand(["EXISTS", theirs]), `${service} reads ${theirs}`).rejects.toThrow(
            /NOPERM/,
          );
          await expect(c.sendCommand(["DEL", theirs]), `${service} deletes ${theirs}`).rejects.toThrow(
            /NOPERM/,
          );
        }
      }
      for (const command of [
        ["FLUSHALL"],
        ["KEYS", "*"],
        ["CONFIG", "GET", "*"],
        ["ACL", "LIST"],
        ["MONITOR"],
      ])
        await expect(c.sendCommand(command), `${service}: ${command[0]}`).rejects.toThrow(/NOPERM/);
      const channel = `${REDIS_KEY_PREFIX}notification:push`;
      const publish = c.sendCommand(["PUBLISH", channel, "x"]);
      if (access.channels.includes("notification:push")) await expect(publish).resolves.toBeDefined();
      else await expect(publish, `${service} publishes on ${channel}`).rejects.toThrow(/NOPERM/);
      // The catalog's keys and channel are on the cache instance: nobody has them here.
      await expect(c.sendCommand(["EXISTS", `${REDIS_KEY_PREFIX}catalog:version`])).rejects.toThrow(/NOPERM/);
      await expect(
        c.sendCommand(["PUBLISH", `${REDIS_KEY_PREFIX}catalog:changed`, "x"]),
        `${service} publishes on catalog:changed`,
      ).rejects.toThrow(/NOPERM/);
    }
  });

  it("holds product's cache user to the catalog's keys and channel", async () => {
    const product = await as(cache!.port, serviceAccess("product", "redis-cache"));
    await product.set(`${REDIS_KEY_PREFIX}catalog:product:config-check`, "1", { EX: 60 });
    expect(await product.mGet([`${REDIS_KEY_PREFIX}catalog:product:config-check`])).toEqual(["1"]);
    expect(await product.publish(`${REDIS_KEY_PREFIX}catalog:changed`, "changed")).toBe(0);
    // Every other service's key families, even on this instance where nobody keeps them.
    for (const { access } of accessOn("redis"))
      for (const family of access.keys)
        for (const command of [
          ["SET", `${REDIS_KEY_PREFIX}${family}:config-check`, "1"],
          ["MGET", `${REDIS_KEY_PREFIX}${family}:config-check`],
        ])
          await expect(product.sendCommand(command), `product: ${command.join(" ")}`).rejects.toThrow(
            /NOPERM/,
          );
    await expect(product.sendCommand(["SET", "catalog:version", "1"]), "outside the prefix").rejects.toThrow(
      /NOPERM/,
    );
    await expect(
      product.sendCommand(["PUBLISH", `${REDIS_KEY_PREFIX}notification:push`, "x"]),
    ).rejects.toThrow(/NOPERM/);
    for (const command of [
      ["FLUSHALL"],
      ["KEYS", "*"],
      ["CONFIG", "SET", "maxmemory-policy", "allkeys-lru"],
      ["DEL", `${REDIS_KEY_PREFIX}catalog:version`],
    ])
      await expect(product.sendCommand(command), `product: ${command[0]}`).rejects.toThrow(/NOPERM/);
  });

  it("lets the gateway's cache user subscribe to the catalog channel and do nothing else", async () => {
    const gateway = await as(cache!.port, serviceAccess("gateway", "redis-cache"));
    const product = await as(cache!.port, serviceAccess("product", "redis-cache"));
    const version = `${REDIS_KEY_PREFIX}catalog:version`;
    for (const command of [
      ["PING"],
      ["MGET", version],
      ["SET", version, "1"],
      ["INCR", version],
      ["EXISTS", version],
      ["PUBLISH", `${REDIS_KEY_PREFIX}catalog:changed`, "x"],
      ["KEYS", "*"],
      ["FLUSHALL"],
    ])
      await expect(gateway.sendCommand(command), `gateway: ${command[0]}`).rejects.toThrow(/NOPERM/);
    // Another channel: refused.
    const elsewhere = await as(cache!.port, serviceAccess("gateway", "redis-cache"));
    await expect(
      elsewhere.subscribe(`${REDIS_KEY_PREFIX}notification:push`, () => undefined),
    ).rejects.toThrow(/NOPERM/);
    // Its channel: product's announcement arrives.
    const messages: string[] = [];
    await gateway.subscribe(`${REDIS_KEY_PREFIX}catalog:changed`, (message) => messages.push(message));
    expect(await product.publish(`${REDIS_KEY_PREFIX}catalog:changed`, "changed")).toBe(1);
    await expect.poll(() => messages).toEqual(["changed"]);
  });

  it("full, the cache instance evicts cache entries and keeps taking writes; the version counter stays", async () => {
    const product = await as(cache!.port, serviceAccess("product", "redis-cache"));
    const observer = createClient({
      url: `redis://127.0.0.1:${cache!.port}`,
      ...{ username: OBSERVER.user, password: OBSERVER.password },
    });
    clients.push(observer);
    await observer.connect();
    const version = `${REDIS_KEY_PREFIX}catalog:version`;
    // As product's read cache writes: a version counter (no TTL), then entries with a TTL.
    for (let i = 0; i < 3; i++)
      await product.multi().incr(version).publish(`${REDIS_KEY_PREFIX}catalog:changed`, "changed").exec();
    // The counter made the least recently used key by far (a day idle): whatever evicts by
    // recency alone would take it first.
    const dumped = await observer.sendCommand(["DUMP", version], {
      typeMapping: { [RESP_TYPES.BLOB_STRING]: Buffer },
    });
    await observer.sendCommand([
      "RESTORE",
      version,
      "0",
      dumped as unknown as Buffer,
      "REPLACE",
      "IDLETIME",
      "86400",
    ]);
    expect(await observer.sendCommand(["OBJECT", "IDLETIME", version])).toBeGreaterThanOrEqual(86_400);
    const cap = Number.parseInt(
      workloadArgs("redis-cache")[workloadArgs("redis-cache").indexOf("--maxmemory") + 1]!,
      10,
    );
    const entry = "x".repeat(256 * KiB);
    const keys = Array.from(
      { length: Math.ceil((cap * 2 * 1024) / 256) },
      (_, i) => `${REDIS_KEY_PREFIX}catalog:list:fill-${i}`,
    );
    // Twice the cap: every write is taken.
    for (const key of keys) expect(await product.set(key, `3\netag\n${entry}`, { EX: 300 })).toBe("OK");
    // The counter, never evictable, still says 3: the only keys evicted were entries.
    expect(await product.mGet([version])).toEqual(["3"]);
    const kept = await product.mGet(keys);
    const evicted = kept.filter((v) => v === null).length;
    expect(evicted).toBeGreaterThan(keys.length / 3);
    // Evicted by the server (with any other entry of the earlier tests), not lost otherwise.
    expect(Number(/evicted_keys:(\d+)/.exec(await observer.info("stats"))?.[1])).toBeGreaterThanOrEqual(
      evicted,
    );
    // The last entries written are there.
    expect(kept.at(-1)).not.toBeNull();
  }, 60_000);

  it("full, the main instance refuses writes (OOM) rather than evict a cart", async () => {
    const cart = await as(main!.port, serviceAccess("cart", "redis"));
    const value = "x".repeat(256 * KiB);
    const written: string[] = [];
    let refusal: Error | undefined;
    // 8 MB of cap: 32 such values fill it; 100 writes are far beyond.
    for (let i = 0; i < 100 && !refusal; i++) {
      const key = `${REDIS_KEY_PREFIX}cart:fill-${i}`;
      await cart.set(key, value).then(
        () => written.push(key),
        (err: Error) => {
          refusal = err;
        },
      );
    }
    expect(refusal?.message).toMatch(/OOM/);
    expect(written.length).toBeGreaterThan(0);
    // Every cart written before the refusal is still there: nothing was evicted.
    for (const key of written) expect(await cart.exists(key), key).toBe(1);
  }, 60_000);
});

function workloadArgs(name: string): string[] {
  const w = platform.workloads.find((x) => x.name === name);
  if (!w?.args) throw new Error(`${name} has no arguments`);
  return w.args;
}

describe("nginx reads the storefront's configuration", () => {
  const conf = join(process.cwd(), "services/storefront/nginx.conf");
  // nginx opens /dev/stdout for its access log: give it a file there, not the test's socket.
  const nginxT = (file: string) => {
    const out = join(dir, "nginx-t.out");
    const r = run("sh", ["-c", `nginx -t -q -c '${file}' >'${out}' 2>&1`]);
    return { code: r.code, out: readFileSync(out, "utf8") };
  };

  it("nginx -t accepts it, and refuses a broken one (the check can fail)", () => {
    need("nginx", "nginx");
    const checked = nginxT(conf);
    expect(checked.code, checked.out).toBe(0);
    const broken = join(dir, "nginx-broken.conf");
    writeFileSync(broken, readFileSync(conf, "utf8").replace(/listen\s+\d+/, "listen nowhere:x"));
    expect(nginxT(broken).code).not.toBe(0);
  });
});

/** Kills a throwaway server and waits for it to be gone. */
function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}

describe("MariaDB runs the generated init script", () => {
  const base = join(dir, "mariadb");
  const socket = join(base, "mysqld.sock");
  let server: ChildProcess | undefined;
  let port = 0;
  const databases = platform.workloads.flatMap((w) => w.databases);
  const passwordOf = (secret: string) => password(secret);

  beforeAll(async () => {
    need("mariadbd", "mariadb-server");
    execFileSync("mkdir", ["-p", join(base, "data"), join(base, "secrets")]);
    const asRoot = process.getuid?.() === 0 ? ["--user=root"] : [];
    const installed = run("mariadb-install-db", [
      "--no-defaults",
      `--datadir=${join(base, "data")}`,
      "--auth-root-authentication-method=normal",
      "--skip-test-db",
      ...asRoot,
    ]);
    expect(installed.code, installed.out).toBe(0);
    port = await freePort();
    server = spawn(
      "mariadbd",
      [
        "--no-defaults",
        `--datadir=${join(base, "data")}`,
        `--socket=${socket}`,
        `--port=${port}`,
        "--bind-address=127.0.0.1",
        `--pid-file=${join(base, "mysqld.pid")}`,
        "--skip-log-bin",
        "--innodb-buffer-pool-size=16M",
        "--skip-name-resolve",
        ...asRoot,
      ],
      { stdio: "ignore" },
    );
    const started = server;
    await portOpen(port, "the throwaway mariadbd", 30_000, () => started.exitCode === null);
  });
  afterAll(() => stop(server));

  it("creates each service's database and user; each user reaches its own database only", async () => {
    expect(databases.length).toBeGreaterThan(0);
    // The script reads each password from its secret file, as the workload mounts them.
    for (const d of databases)
      writeFileSync(join(base, "secrets", d.passwordSecret), passwordOf(d.passwordSecret));
    const script = files["mariadb-init"]!.replaceAll(`${SECRETS_DIR}/`, `${join(base, "secrets")}/`);
    writeFileSync(join(base, "init.sh"), script);
    // The image's entrypoint sources the script with its helpers defined: the stand-in's copy of
    // that contract (scripts/replay/standins/mariadb/docker-entrypoint.sh), sourced without running.
    const entrypoint = join(process.cwd(), "scripts/replay/standins/mariadb/docker-entrypoint.sh");
    const applied = run(
      "bash",
      ["-c", `set -eo pipefail; source '${entrypoint}'; source '${join(base, "init.sh")}'`],
      {
        env: { ...process.env, SOCKET: socket, MARIADB_ROOT_PASSWORD: "" },
      },
    );
    expect(applied.code, applied.out).toBe(0);

    for (const d of databases) {
      const conn = await mariadb.createConnection({
        host: "127.0.0.1",
        port,
        user: d.user,
        password: passwordOf(d.passwordSecret),
        database: d.name,
      });
      await conn.query("CREATE TABLE IF NOT EXISTS config_check (id INT PRIMARY KEY)");
      const others = databases.filter((o) => o.name !== d.name);
      for (const o of others) {
        await expect(
          conn.query(`SELECT 1 FROM \`${o.name}\`.config_check`),
          `${d.user} on ${o.name}`,
        ).rejects.toThrow(/denied|doesn't exist/i);
      }
      await conn.end();
      await expect(
        mariadb.createConnection({ host: "127.0.0.1", port, user: d.user, password: "not-the-password" }),
      ).rejects.toThrow(/Access denied/);
    }
  });
});

describe("RabbitMQ imports the generated definitions", () => {
  const base = join(dir, "rabbitmq");
  const node = `rabbit-config-check-${process.pid}@localhost`;
  let server: ChildProcess | undefined;
  let port = 0;
  let epmdPort = 0;
  const definitions = JSON.parse(secrets["rabbitmq-definitions"]!) as {
    users: { name: string; password_hash: string }[];
    vhosts: { name: string }[];
    queues: { name: string; vhost: string }[];
    permissions: { user: string; vhost: string }[];
  };
  /** Each user's password: the generator input whose salted hash the definitions hold. */
  const passwordOfUser = (hash: string) => {
    const salt = Buffer.from(hash, "base64").subarray(0, 4);
    const found = candidates.find((c) => rabbitmqPasswordHash(c, salt) === hash);
    if (!found) throw new Error("a user of the definitions has no password among the generator's inputs");
    return found;
  };

  beforeAll(async () => {
    need("rabbitmq-server", "rabbitmq-server");
    execFileSync("mkdir", ["-p", join(base, "conf.d")]);
    const definitionsPath = join(base, "definitions.json");
    writeFileSync(definitionsPath, secrets["rabbitmq-definitions"]!);
    writeFileSync(
      join(base, "conf.d", "20-shopstream.conf"),
      files["rabbitmq-conf"]!.replace(mountPathOf(platform, "rabbitmq-definitions"), definitionsPath),
    );
    writeFileSync(join(base, "enabled_plugins"), "[].\n");
    writeFileSync(join(base, "rabbitmq.conf"), "");
    [port, epmdPort] = [await freePort(), await freePort()];
    // This node's own listener, after the generated drop-in (RABBITMQ_NODE_PORT loses to conf.d),
    // in place of the default one: a listener on 5672 collides with the machine's broker, fails
    // the boot and stops the node while the checks still run.
    writeFileSync(
      join(base, "conf.d", "90-config-check.conf"),
      `listeners.tcp.default = 127.0.0.1:${port}\n`,
    );
    const dist = await freePort();
    server = spawn("/usr/lib/rabbitmq/bin/rabbitmq-server", [], {
      stdio: "ignore",
      // Erlang writes a crash dump (MnesiaCore.*) into its working directory: the node's own.
      cwd: base,
      env: {
        ...process.env,
        HOME: base,
        RABBITMQ_NODENAME: node,
        RABBITMQ_DIST_PORT: String(dist),
        ERL_EPMD_PORT: String(epmdPort),
        RABBITMQ_CONFIG_FILES: join(base, "conf.d"),
        // Not the machine broker's own /etc/rabbitmq/rabbitmq.conf (its listener is on 5672).
        RABBITMQ_CONFIG_FILE: join(base, "rabbitmq.conf"),
        RABBITMQ_ENABLED_PLUGINS_FILE: join(base, "enabled_plugins"),
        RABBITMQ_MNESIA_BASE: join(base, "mnesia"),
        RABBITMQ_LOG_BASE: join(base, "log"),
        RABBITMQ_PID_FILE: join(base, "rabbit.pid"),
        RABBITMQ_CONF_ENV_FILE: join(base, "rabbitmq-env.conf"),
      },
    });
    const started = server;
    await portOpen(port, "the throwaway RabbitMQ node", 60_000, () => started.exitCode === null);
  }, 90_000);
  afterAll(async () => {
    await stop(server);
    // The node started its own epmd on its own port: end it too.
    if (epmdPort) run("epmd", ["-port", String(epmdPort), "-kill"]);
  });

  it("lets every user of the definitions in with its password, to a vhost holding every queue", async () => {
    expect(definitions.users.length).toBeGreaterThan(0);
    for (const user of definitions.users) {
      const secret = passwordOfUser(user.password_hash);
      for (const p of definitions.permissions.filter((x) => x.user === user.name)) {
        const url = `amqp://${encodeURIComponent(user.name)}:${encodeURIComponent(secret)}@127.0.0.1:${port}/${encodeURIComponent(p.vhost)}`;
        const conn = await amqp.connect(url);
        const channel = await conn.createChannel();
        for (const q of definitions.queues.filter((x) => x.vhost === p.vhost))
          await channel.checkQueue(q.name);
        await conn.close();
      }
      await expect(
        amqp.connect(
          `amqp://${encodeURIComponent(user.name)}:wrong@127.0.0.1:${port}/${encodeURIComponent(definitions.vhosts[0]!.name)}`,
        ),
      ).rejects.toThrow(/ACCESS_REFUSED|403/);
    }
  });

  it("holds each service's user to its own queues and routing keys (publishing another's is refused)", async () => {
    const names = brokerNames(platform.messaging);
    await expectEveryBrokerUser(platform, names, (w) => {
      const user = definitions.users.find((u) => u.name === w.broker!.user)!;
      return amqp.connect(
        `amqp://${encodeURIComponent(user.name)}:${encodeURIComponent(passwordOfUser(user.password_hash))}@127.0.0.1:${port}/${encodeURIComponent(names.vhost)}`,
      );
    });
  }, 60_000);
});
