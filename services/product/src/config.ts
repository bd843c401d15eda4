import { amqpEnv, commonEnv, dbEnv, env, redisEnv, tokenEnv } from "@shopstream/runtime";
import { z } from "zod";

/** An empty variable counts as unset: the platform renders only what a target configures. */
const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => (v === "" ? undefined : v), schema.optional());

export const searchEnv = {
  /** Elasticsearch when set; MariaDB full-text otherwise. */
  ELASTICSEARCH_URL: optional(env.url()),
  /** The alias searches and writes go through; reindexing swaps the index behind it. */
  ELASTICSEARCH_INDEX: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]{0,99}$/, "lowercase letters, digits, _ and - only")
    .default("products"),
};

export const imageEnv = {
  /** MinIO when set; the local folder IMAGES_DIR otherwise. */
  MINIO_ENDPOINT: optional(z.string().min(1)),
  MINIO_PORT: env.port(9000),
  MINIO_USE_SSL: env.bool(false),
  MINIO_BUCKET: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "an S3 bucket name")
    .default("product-images"),
  MINIO_REGION: z.string().min(1).default("us-east-1"),
  MINIO_ACCESS_KEY: optional(z.string().min(1)),
  MINIO_SECRET_KEY: optional(z.string().min(1)),
  IMAGES_DIR: z.string().min(1).default(".shopstream/images"),
  /** Images sent at once by one replica; more get a 503 with Retry-After (each is streamed). */
  IMAGE_STREAMS_MAX: env.int(1, 10_000, 64),
};

/** MinIO needs both keys; the error names the one that is missing. */
const minioKeysPresent = (c: {
  MINIO_ENDPOINT?: string;
  MINIO_ACCESS_KEY?: string;
  MINIO_SECRET_KEY?: string;
}) => !c.MINIO_ENDPOINT || (c.MINIO_ACCESS_KEY !== undefined && c.MINIO_SECRET_KEY !== undefined);

export const configSchema = z
  .object({
    ...commonEnv,
    ...dbEnv,
    ...redisEnv,
    ...amqpEnv,
    ...tokenEnv,
    ...searchEnv,
    ...imageEnv,
    PORT: env.port(),
    /** Fills an empty catalog with demo products (and their images) at start. */
    SEED_DEMO_CATALOG: env.bool(true),
    /** How long product reads stay in the Redis cache; every change invalidates them anyway. */
    CACHE_TTL_SECONDS: env.int(1, 3600, 30),
    /**
     * Longest a catalog read or change waits for the cache's Redis before it does without it
     * (MariaDB for a read); a Redis past it is skipped until it answers (docs/caching.md).
     */
    CACHE_TIMEOUT_MS: env.int(10, 10_000, 500),
  })
  .check((ctx) => {
    if (minioKeysPresent(ctx.value)) return;
    const key = ctx.value.MINIO_ACCESS_KEY === undefined ? "MINIO_ACCESS_KEY" : "MINIO_SECRET_KEY";
    ctx.issues.push({
      code: "custom",
      input: undefined,
      path: [key],
      message: "is required with MINIO_ENDPOINT",
    });
  });

export type ProductConfig = z.output<typeof configSchema>;

/** What `reindex` needs: the catalog database and the search backend, nothing else. */
export const reindexConfigSchema = z.object({ ...commonEnv, ...dbEnv, ...searchEnv });
export type ReindexConfig = z.output<typeof reindexConfigSchema>;
