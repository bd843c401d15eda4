import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import {
  buildPlatform,
  listenPort,
  localSettings,
  type Platform,
  type PlatformSettings,
  REPO_ROOT,
  renderEnv,
  startOrder,
  type TargetResolver,
  type Workload,
} from "../model/index.js";
import { type LocalEndpoints, localEndpoints } from "./endpoints.js";
import { type PreflightFailure, preflight } from "./preflight.js";
import {
  type LocalSecrets,
  localAdminEmail,
  provisionBroker,
  provisionDatabases,
  provisionRedis,
  removeIsolatedData,
  writeLocalSecrets,
} from "./provision.js";
import { type ManagedProcess, startProcess, stopAll, waitUntilReady } from "./supervisor.js";

export class PreflightError extends Error {
  constructor(readonly failures: PreflightFailure[]) {
    super(failures.map((f) => `${f.store} is not reachable at ${f.where}: ${f.error}`).join("; "));
  }
}

export interface LocalRunOptions {
  env?: NodeJS.ProcessEnv;
  /** Where generated state (admin password, images) lives; default `<repo>/.shopstream`. */
  stateDir?: string;
  readyTimeoutMs?: number;
  /**
   * Runs on databases, Redis keys and queues of its own, named with this prefix, so tests and the
   * benchmark leave a developer's `npm run dev` data alone; `stop()` then removes them.
   */
  isolation?: string;
  /** Extra node arguments per service, e.g. `--inspect` or `--cpu-prof` for profiling. */
  nodeArgs?: Record<string, string[]>;
  /** Extra env per service over what the model renders (the benchmark lifts the rate limit). */
  overrides?: Record<string, Record<string, string>>;
  /** Each service's raw log lines go to `<logDir>/<service>.log` instead of the terminal. */
  logDir?: string;
  /** Called when a service exits on its own after start. */
  onUnexpectedExit?: (name: string, code: number | null) => void;
}

export interface LocalRun {
  platform: Platform;
  url: string;
  processes: ManagedProcess[];
  secrets: LocalSecrets;
  adminEmail: string;
  readySeconds: number;
  stop(): Promise<{ name: string; code: number | null }[]>;
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolvePort) => {
    const probe = createServer();
    probe.once("error", () => resolvePort(false));
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolvePort(true)));
  });
}

/** `LOCAL_RATE_LIMITS=off` lifts the gateway's rate limits (load tests from one address). */
/**
 * The developer's own OpenTelemetry settings (`OTEL_EXPORTER_OTLP_ENDPOINT` and the other
 * standard `OTEL_*` variables) reach every service: without an endpoint nothing is exported,
 * but trace ids are still made, propagated and logged (docs/tracing.md).
 */
export function openTelemetryEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) if (key.startsWith("OTEL_") && value) out[key] = value;
  return out;
}

export function rateLimitsOf(env: NodeJS.ProcessEnv): "enforced" | "lifted" {
  const value = (env.LOCAL_RATE_LIMITS ?? "on").toLowerCase();
  if (value === "off") return "lifted";
  if (value === "on") return "enforced";
  throw new Error(`LOCAL_RATE_LIMITS must be on or off, not ${JSON.stringify(env.LOCAL_RATE_LIMITS)}`);
}

/**
 * The resolver of the local run: every app service on 127.0.0.1 where the settings put it
 * (`sharedHost`), data stores where the machine has them. The developer's one Redis plays both
 * instances, the main one and the catalog cache's (it evicts nothing: its settings are left
 * alone).
 */
export function localResolver(
  endpoints: LocalEndpoints,
  secretsDir: string,
  settings: PlatformSettings,
): TargetResolver {
  const external: Record<string, { host: string; port: number }> = {
    mariadb: endpoints.mariadb,
    redis: endpoints.redis,
    "redis-cache": endpoints.redis,
    rabbitmq: endpoints.rabbitmq,
    ...(endpoints.minio ? { minio: endpoints.minio } : {}),
  };
  if (endpoints.elasticsearchUrl) {
    const u = new URL(endpoints.elasticsearchUrl);
    external.elasticsearch = { host: u.hostname, port: Number(u.port || 9200) };
  }
  return {
    host: (w) => external[w.name]?.host ?? "127.0.0.1",
    port: (w) => external[w.name]?.port ?? listenPort(settings, w),
    secretPath: (secret) => join(secretsDir, secret),
  };
}

/**
 * Runs every Node service of the platform model as a local process: checks the data stores,
 * provisions databases and secrets, starts services in dependency order waiting for each
 * `/ready`, and stops them all gracefully.
 */
export async function startLocalRun(options: LocalRunOptions = {}): Promise<LocalRun> {
  const env = options.env ?? process.env;
  const started = Date.now();
  const endpoints = localEndpoints(env);
  const failures = await preflight(endpoints);
  if (failures.length) throw new PreflightError(failures);

  // LOCAL_PORT_OFFSET moves every service port, so a second run (tests, bench) can sit beside `npm run dev`.
  const offset = Number(env.LOCAL_PORT_OFFSET ?? 0);
  const gatewayPort = Number(env.GATEWAY_PORT ?? 8080 + offset);
  const stateDir = options.stateDir ?? join(REPO_ROOT, ".shopstream");
  const adminEmail = localAdminEmail(stateDir, env);
  const isolation = options.isolation ?? "";
  const platform = buildPlatform(
    localSettings({
      hosts: { ...localSettings().hosts, app: `127.0.0.1:${gatewayPort}` },
      search: endpoints.elasticsearchUrl ? "elasticsearch" : "mariadb",
      images: endpoints.minio ? "minio" : "local",
      adminEmail,
      logLevel: (env.LOG_LEVEL as "info" | undefined) ?? "info",
      rateLimits: rateLimitsOf(env),
      isolation,
      sharedHost: { portOffset: offset, gatewayPort },
    }),
  );
  const locals = startOrder(platform.workloads).filter(
    (w): w is Workload & Required<Pick<Workload, "local">> => Boolean(w.local),
  );
  for (const w of locals) {
    const entry = join(REPO_ROOT, w.local.workspace, w.local.entry);
    if (!existsSync(entry)) throw new Error(`${entry} is missing: run \`npm run build\` first`);
  }

  const ports = localResolver(endpoints, "", platform.settings);
  for (const w of locals) {
    const port = ports.port(w);
    if (!(await portIsFree(port))) {
      throw new Error(
        `port ${port} (${w.name}) is already in use: is another run still up? Set LOCAL_PORT_OFFSET or GATEWAY_PORT to move it.`,
      );
    }
  }

  // A developer's MinIO comes with its own keys rather than generated ones.
  const minioKeys = endpoints.minio
    ? { "minio-access-key": endpoints.minio.accessKey, "minio-secret-key": endpoints.minio.secretKey }
    : {};
  const secrets = writeLocalSecrets(locals, stateDir, env, platform.secrets, minioKeys);
  const processes: ManagedProcess[] = [];
  let stopping = false;
  const stop = async () => {
    stopping = true;
    const results = await stopAll(processes, 25_000);
    secrets.remove();
    if (isolation) await removeIsolatedData(platform, endpoints, isolation);
    return results;
  };

  try {
    // Each under the platform's isolation prefix (its settings), as the services' env names them.
    await provisionDatabases(platform, secrets, endpoints);
    await provisionBroker(platform, secrets, endpoints);
    await provisionRedis(platform, secrets, endpoints);
    const resolver = localResolver(endpoints, secrets.dir, platform.settings);
    const width = Math.max(...locals.map((w) => w.name.length));
    for (const [i, w] of locals.entries()) {
      const port = resolver.port(w);
      // The process's own PATH and HOME, then the model's env as rendered; over it only what the
      // caller asks for by name: the developer's OTEL_* settings and `overrides` (the benchmark).
      const childEnv: Record<string, string> = {
        PATH: env.PATH ?? "/usr/bin:/bin",
        HOME: env.HOME ?? REPO_ROOT,
        ...renderEnv(platform, w, resolver),
        ...openTelemetryEnv(env),
        ...options.overrides?.[w.name],
      };
      const proc = startProcess(
        w.name,
        i,
        process.execPath,
        [...(options.nodeArgs?.[w.name] ?? []), join(w.local.workspace, w.local.entry)],
        {
          cwd: REPO_ROOT,
          env: childEnv,
          width,
          ...(options.logDir ? { logFile: join(options.logDir, `${w.name}.log`) } : {}),
        },
      );
      processes.push(proc);
      void proc.exited.then((code) => {
        if (!stopping) options.onUnexpectedExit?.(w.name, code);
      });
      await waitUntilReady(
        proc,
        `http://127.0.0.1:${port}${w.readinessPath ?? "/health"}`,
        options.readyTimeoutMs ?? 30_000,
      );
    }
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    platform,
    url: `http://127.0.0.1:${gatewayPort}`,
    processes,
    secrets,
    adminEmail,
    readySeconds: (Date.now() - started) / 1000,
    stop,
  };
}
