/**
 * The local run's data stores as containers, for a machine that has a Docker engine but no
 * MariaDB, Redis or RabbitMQ of its own: the pinned images of the platform model, a named volume
 * each, ports published on 127.0.0.1 only. Nothing here removes a container or a volume unless
 * `removeStores` is called (`npm run dev -- --remove-stores`).
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { THIRD_PARTY_IMAGES } from "../model/index.js";
import { localEndpoints } from "./endpoints.js";
import { type PreflightFailure, preflight } from "./preflight.js";

export type StoreName = "MariaDB" | "Redis" | "RabbitMQ";

export interface StoreContainer {
  store: StoreName;
  /** Container name; the volume is `<name>-data`. */
  name: string;
  volume: string;
  image: string;
  /** `docker run` arguments between the options every store shares and the image. */
  options: string[];
  /** Arguments after the image (the store's command-line options). */
  command: string[];
  /** Env the local run needs to use this container as its store. */
  runEnv: Record<string, string>;
  /** A file the container mounts, written (0600) before it is created, kept afterwards. */
  secretFile?: { path: string; content: string };
}

const LOOPBACK = new Set(["127.0.0.1", "localhost", "::1"]);
const LABEL = "org.shopstream.local-store";

/** `docker …`, with its stdout; an error carries stderr. */
export function docker(args: string[], timeoutMs = 120_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile("docker", args, { timeout: timeoutMs, maxBuffer: 4 << 20 }, (err, stdout, stderr) =>
      err ? reject(new Error((stderr || err.message).trim())) : resolve(stdout.trim()),
    );
  });
}

/** Whether a Docker engine answers (the CLI is installed and reaches its daemon). */
export async function engineAnswers(): Promise<boolean> {
  try {
    await docker(["version", "--format", "{{.Server.Version}}"], 10_000);
    return true;
  } catch {
    return false;
  }
}

/**
 * The containers that can stand in for the machine's stores, named `<LOCAL_STORES_PREFIX>-<store>`
 * (default `shopstream-dev`), each published where the local run looks for that store.
 */
export function storeContainers(env: NodeJS.ProcessEnv, stateDir: string): StoreContainer[] {
  const prefix = env.LOCAL_STORES_PREFIX ?? "shopstream-dev";
  if (!/^[a-z0-9][a-z0-9_.-]{0,40}$/.test(prefix))
    throw new Error(`LOCAL_STORES_PREFIX must be lower-case letters, digits, ".", "_" or "-", not ${prefix}`);
  const endpoints = localEndpoints(env);
  const managementPort = Number(env.LOCAL_RABBITMQ_MANAGEMENT_PORT ?? 15672);
  const rootPasswordFile = join(stateDir, `${prefix}-mariadb-root-password`);
  const rootPassword = existsSync(rootPasswordFile)
    ? readFileSync(rootPasswordFile, "utf8").trim()
    : randomBytes(18).toString("base64url");
  const container = (
    store: StoreName,
    key: "mariadb" | "redis" | "rabbitmq",
    rest: Omit<StoreContainer, "store" | "name" | "volume" | "image">,
  ): StoreContainer => ({
    store,
    name: `${prefix}-${key}`,
    volume: `${prefix}-${key}-data`,
    image: env[`LOCAL_${key.toUpperCase()}_IMAGE`] || THIRD_PARTY_IMAGES[key],
    ...rest,
  });
  return [
    container("MariaDB", "mariadb", {
      // The root password is generated once and kept beside the run's other state (0600); the
      // image reads it from a file, so it is in no env value `docker inspect` shows.
      options: [
        ...publish(endpoints.mariadb.port, 3306),
        ...["-v", `${prefix}-mariadb-data:/var/lib/mysql`],
        ...["-v", `${rootPasswordFile}:/run/secrets/mariadb-root-password:ro`],
        ...["-e", "MARIADB_ROOT_PASSWORD_FILE=/run/secrets/mariadb-root-password"],
      ],
      command: [],
      runEnv: { LOCAL_MARIADB_ROOT_USER: "root", LOCAL_MARIADB_ROOT_PASSWORD: rootPassword },
      secretFile: { path: rootPasswordFile, content: `${rootPassword}\n` },
    }),
    container("Redis", "redis", {
      options: [...publish(endpoints.redis.port, 6379), ...["-v", `${prefix}-redis-data:/data`]],
      // Reached only through the loopback port; the services get ACL users of their own.
      command: ["--appendonly", "yes", "--protected-mode", "no"],
      runEnv: {},
    }),
    container("RabbitMQ", "rabbitmq", {
      options: [
        ...publish(endpoints.rabbitmq.port, 5672),
        ...publish(managementPort, 15672),
        // The node's name, and so its data directory, stays the same when the container is new.
        ...["--hostname", `${prefix}-rabbitmq`],
        ...["-v", `${prefix}-rabbitmq-data:/var/lib/rabbitmq`],
      ],
      command: [],
      // The broker runs in the container: its users are created through the management API.
      runEnv: { LOCAL_RABBITMQ_MANAGEMENT_URL: `http://127.0.0.1:${managementPort}` },
    }),
  ];
}

const publish = (hostPort: number, containerPort: number) => ["-p", `127.0.0.1:${hostPort}:${containerPort}`];

/** Writes a container's secret file once (0600); a kept one is never overwritten. */
function writeSecretFile({ path, content }: { path: string; content: string }) {
  if (existsSync(path)) return;
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, content, { mode: 0o600 });
  chmodSync(path, 0o600);
}

async function containerState(name: string): Promise<"running" | "stopped" | "absent"> {
  try {
    const running = await docker(["container", "inspect", "-f", "{{.State.Running}}", name], 15_000);
    return running === "true" ? "running" : "stopped";
  } catch {
    return "absent";
  }
}

/**
 * The env the local run needs for store containers that already run (left by an earlier
 * `npm run dev`): their generated root password and the broker's management URL. Settings the
 * developer made win.
 */
export async function adoptRunningStores(
  env: NodeJS.ProcessEnv,
  stores: StoreContainer[],
): Promise<NodeJS.ProcessEnv> {
  const out = { ...env };
  for (const s of stores) {
    if ((await containerState(s.name)) !== "running") continue;
    for (const [k, v] of Object.entries(s.runEnv)) out[k] ??= v;
  }
  return out;
}

/** The stores of `failures` that a container can stand in for: those looked for on this machine. */
export function startable(failures: PreflightFailure[], stores: StoreContainer[], env: NodeJS.ProcessEnv) {
  const endpoints = localEndpoints(env);
  const hostOf: Record<StoreName, string> = {
    MariaDB: endpoints.mariadb.host,
    Redis: endpoints.redis.host,
    RabbitMQ: endpoints.rabbitmq.host,
  };
  return stores.filter((s) => failures.some((f) => f.store === s.store) && LOOPBACK.has(hostOf[s.store]));
}

/**
 * Starts (or creates) the containers, then waits until each answers the way the services will
 * use it. Returns the env the local run needs. A container that exits while it starts fails
 * this at once, with its last log lines.
 */
export async function startStores(
  stores: StoreContainer[],
  env: NodeJS.ProcessEnv,
  options: { timeoutMs?: number; log?: (line: string) => void } = {},
): Promise<NodeJS.ProcessEnv> {
  const log = options.log ?? (() => undefined);
  const out = { ...env };
  for (const s of stores) {
    const state = await containerState(s.name);
    if (s.secretFile) writeSecretFile(s.secretFile);
    if (state === "running") log(`${s.store}: container ${s.name} is already running`);
    else if (state === "stopped") {
      log(`${s.store}: starting the container ${s.name} (volume ${s.volume})`);
      await docker(["start", s.name]);
    } else {
      log(`${s.store}: creating the container ${s.name} from ${s.image} (volume ${s.volume})`);
      await docker(["volume", "create", "--label", `${LABEL}=${s.store}`, s.volume]);
      await docker([
        "run",
        "--detach",
        "--name",
        s.name,
        "--label",
        `${LABEL}=${s.store}`,
        ...s.options,
        s.image,
        ...s.command,
      ]);
    }
    for (const [k, v] of Object.entries(s.runEnv)) out[k] ??= v;
  }
  await waitForStores(stores, out, options.timeoutMs ?? 180_000, log);
  return out;
}

async function waitForStores(
  stores: StoreContainer[],
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
  log: (line: string) => void,
) {
  const deadline = Date.now() + timeoutMs;
  const pending = new Set(stores.map((s) => s.store));
  let lastErrors: PreflightFailure[] = [];
  while (pending.size) {
    const failures = await preflight(localEndpoints(env));
    const managementDown = pending.has("RabbitMQ") && !(await managementAnswers(env));
    for (const store of [...pending]) {
      const down = failures.some((f) => f.store === store) || (store === "RabbitMQ" && managementDown);
      if (!down) {
        pending.delete(store);
        log(`${store}: ready`);
      }
    }
    lastErrors = failures;
    if (!pending.size) break;
    for (const s of stores.filter((x) => pending.has(x.store))) {
      if ((await containerState(s.name)) !== "running") {
        const logs = await docker(["logs", "--tail", "20", s.name]).catch((e: Error) => e.message);
        throw new Error(`the ${s.store} container ${s.name} stopped while starting:\n${logs}`);
      }
    }
    if (Date.now() > deadline) {
      throw new Error(
        `${[...pending].join(", ")} did not answer within ${Math.round(timeoutMs / 1000)} s: ${lastErrors
          .map((f) => `${f.store}: ${f.error}`)
          .join("; ")}`,
      );
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** The broker's management API answers as the admin user (the local run creates users through it). */
async function managementAnswers(env: NodeJS.ProcessEnv): Promise<boolean> {
  const url = env.LOCAL_RABBITMQ_MANAGEMENT_URL;
  if (!url) return true;
  const { user, password } = localEndpoints(env).rabbitmq;
  try {
    const res = await fetch(`${url.replace(/\/$/, "")}/api/overview`, {
      headers: { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}` },
      signal: AbortSignal.timeout(3000),
    });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  }
}

/** Removes the containers and their volumes (data included): only when the developer asks. */
export async function removeStores(stores: StoreContainer[], log: (line: string) => void = () => undefined) {
  for (const s of stores) {
    if ((await containerState(s.name)) === "absent") continue;
    await docker(["rm", "--force", "--volumes", s.name]);
    await docker(["volume", "rm", "--force", s.volume]);
    log(`${s.store}: removed the container ${s.name} and the volume ${s.volume}`);
  }
}
