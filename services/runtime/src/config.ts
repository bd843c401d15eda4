import { readFileSync } from "node:fs";
import { z } from "zod";

/** Thrown when the environment does not satisfy a service's schema; names the variable. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/**
 * Resolves `NAME_FILE` variables: the file's content (one trailing newline trimmed) becomes
 * `NAME`. This is how secrets arrive: Docker/Kubernetes secrets mounted as files. With `names`,
 * only those variables are resolved, so an unrelated `*_FILE` of the environment (say
 * `TF_CLI_CONFIG_FILE` on a developer's machine) cannot stop a service.
 */
export function resolveFileVariables(
  env: Record<string, string | undefined>,
  names?: ReadonlySet<string>,
): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = { ...env };
  for (const [key, path] of Object.entries(env)) {
    if (!key.endsWith("_FILE") || path === undefined || path === "") continue;
    const name = key.slice(0, -"_FILE".length);
    if (names && !names.has(name)) continue;
    if (env[name] !== undefined && env[name] !== "") {
      throw new ConfigError(`${name} and ${key} are both set; set only one`);
    }
    try {
      out[name] = readFileSync(path, "utf8").replace(/\r?\n$/, "");
    } catch (err) {
      throw new ConfigError(
        `${key}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? "error"})`,
      );
    }
    delete out[key];
  }
  return out;
}

/** Parses the environment once; the result is frozen. */
export function loadConfig<S extends z.ZodType>(
  schema: S,
  env: Record<string, string | undefined> = process.env,
): Readonly<z.output<S>> {
  const shape = (schema as { shape?: unknown }).shape;
  const names = shape && typeof shape === "object" ? new Set(Object.keys(shape)) : undefined;
  const resolved = resolveFileVariables(env, names);
  const parsed = schema.safeParse(resolved);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const variable = issue.path.join(".") || "environment";
    const given = issue.path.length > 0 ? resolved[String(issue.path[0])] : undefined;
    // The message never echoes the value: it may be a secret.
    throw new ConfigError(
      given === undefined ? `${variable} is missing` : `${variable} is invalid: ${issue.message}`,
    );
  }
  return Object.freeze(parsed.data) as Readonly<z.output<S>>;
}

// Reusable pieces of service schemas. Env values are strings; these coerce and check them.
// A key the platform model always renders (infra/src/model) has no fallback here: a value the
// model stops sending fails the service's start instead of being silently replaced.
export const env = {
  port: (fallback?: number) =>
    fallback === undefined
      ? z.coerce.number().int().min(0).max(65535)
      : z.coerce.number().int().min(0).max(65535).default(fallback),
  int: (min: number, max: number, fallback?: number) =>
    fallback === undefined
      ? z.coerce.number().int().min(min).max(max)
      : z.coerce.number().int().min(min).max(max).default(fallback),
  bool: (fallback: boolean) =>
    z
      .enum(["true", "false", "1", "0"])
      .default(fallback ? "true" : "false")
      .transform((v) => v === "true" || v === "1"),
  url: () => z.url({ protocol: /^(https?|redis|rediss|amqps?|wss?)$/ }),
  secret: () => z.string().min(1),
  /** Comma-separated; `required`: no fallback to the empty list. */
  list: (required = false) =>
    (required ? z.string() : z.string().default("")).transform((v) =>
      v
        .split(",")
        .map((x) => x.trim())
        .filter(Boolean),
    ),
};

export const commonEnv = {
  NODE_ENV: z.enum(["development", "production", "test"]).default("production"),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /** How long a SIGTERM drain may take before the process exits anyway. */
  SHUTDOWN_TIMEOUT_MS: env.int(1000, 120_000, 20_000),
  /** Address to listen on: all interfaces in a container, 127.0.0.1 in the local run. */
  HOST: z.string().min(1).default("0.0.0.0"),
};

export const dbEnv = {
  DB_HOST: z.string().min(1),
  DB_PORT: env.port(3306),
  DB_NAME: z.string().regex(/^[A-Za-z0-9_]{1,64}$/, "letters, digits and _ only"),
  DB_USER: z.string().min(1),
  DB_PASSWORD: z.string().default(""),
  DB_POOL_SIZE: env.int(1, 100, 10),
  /** How long a query waits for a pooled connection (or a new one) before failing. */
  DB_ACQUIRE_TIMEOUT_MS: env.int(100, 60_000, 5000),
};

export const redisEnv = {
  REDIS_URL: env.url(),
  /** This service's own ACL user; without it, the `default` user (a developer's bare Redis). */
  REDIS_USERNAME: z.string().min(1).optional(),
  REDIS_PASSWORD: z.string().optional(),
  /** Prefix of every key this service writes; lets tests and environments share one Redis. */
  REDIS_KEY_PREFIX: z.string().min(1),
};

export const amqpEnv = {
  AMQP_URL: env.url(),
  AMQP_USER: z.string().min(1).default("guest"),
  AMQP_PASSWORD: z.string().min(1).default("guest"),
  AMQP_VHOST: z.string().min(1).default("/"),
  AMQP_EXCHANGE: z.string().min(1),
  /** Prefix of every queue name; lets tests isolate their queues. */
  AMQP_QUEUE_PREFIX: z.string().default(""),
  /**
   * `true`: the service declares its exchanges, queues and bindings (a broker user with
   * configure rights, e.g. a test's). `false`: they were declared for it (the platform's broker
   * definitions) and its user may configure nothing; it only checks they exist.
   */
  AMQP_DECLARE_TOPOLOGY: env.bool(true),
  /** Deliveries of a failing event before it is dead-lettered (first try included). */
  EVENT_RETRY_ATTEMPTS: env.int(1, 100, 5),
  /**
   * Delay before retry n, in ms, comma-separated; the last value repeats, so it is the cap of
   * the backoff.
   */
  EVENT_RETRY_BACKOFF_MS: z
    .string()
    .default("500,2000,5000,15000,60000")
    .transform((v) => v.split(",").map((x) => Number(x.trim())))
    .refine((ms) => ms.length > 0 && ms.every((n) => Number.isInteger(n) && n >= 10 && n <= 3_600_000), {
      message: "a comma-separated list of delays in ms, each 10 to 3600000",
    }),
  /**
   * How long an event whose handler finds a store unavailable (the database or Redis away, a
   * connection lost) keeps being retried, counted from its first failure, before it is
   * dead-lettered: a store restart must not send paid orders to the dead letters.
   */
  EVENT_RETRY_UNAVAILABLE_MS: env.int(0, 7 * 24 * 3_600_000, 30 * 60_000),
};

export const tokenEnv = {
  JWKS_URL: env.url(),
  JWT_ISSUER: z.string().min(1),
  JWT_AUDIENCE: z.string().min(1),
};
