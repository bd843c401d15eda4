/** Where the local run finds the machine's data stores; each can be moved by env. */
export interface LocalEndpoints {
  mariadb: { host: string; port: number; user: string; password: string };
  redis: { host: string; port: number };
  rabbitmq: { host: string; port: number; user: string; password: string };
  /** Set when the developer runs them; otherwise MariaDB full-text and a local folder are used. */
  elasticsearchUrl?: string;
  minio?: { host: string; port: number; accessKey: string; secretKey: string };
}

export function localEndpoints(env: NodeJS.ProcessEnv = process.env): LocalEndpoints {
  const minio =
    env.MINIO_ENDPOINT && env.MINIO_ACCESS_KEY && env.MINIO_SECRET_KEY
      ? {
          host: env.MINIO_ENDPOINT,
          port: Number(env.MINIO_PORT ?? 9000),
          accessKey: env.MINIO_ACCESS_KEY,
          secretKey: env.MINIO_SECRET_KEY,
        }
      : undefined;
  return {
    mariadb: {
      host: env.LOCAL_MARIADB_HOST ?? "127.0.0.1",
      port: Number(env.LOCAL_MARIADB_PORT ?? 3306),
      user: env.LOCAL_MARIADB_ROOT_USER ?? "root",
      password: env.LOCAL_MARIADB_ROOT_PASSWORD ?? "",
    },
    redis: { host: env.LOCAL_REDIS_HOST ?? "127.0.0.1", port: Number(env.LOCAL_REDIS_PORT ?? 6379) },
    rabbitmq: {
      host: env.LOCAL_RABBITMQ_HOST ?? "127.0.0.1",
      port: Number(env.LOCAL_RABBITMQ_PORT ?? 5672),
      user: env.LOCAL_RABBITMQ_USER ?? "guest",
      password: env.LOCAL_RABBITMQ_PASSWORD ?? "guest",
    },
    ...(env.ELASTICSEARCH_URL ? { elasticsearchUrl: env.ELASTICSEARCH_URL } : {}),
    ...(minio ? { minio } : {}),
  };
}
