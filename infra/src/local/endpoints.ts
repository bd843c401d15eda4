/** Where the local run finds the machine's data stores; each can be moved by env. */
export interface LocalEndpoints {
  mariadb: { host: string; port: number; user: string; password: string };
  /** An admin connection: it creates the services' ACL users (the `default` user unless set). */
  redis: { host: string; port: number; user?: string; password?: string };
  /**
   * An admin user (`guest` by default): it removes an isolated run's queues. The services' own
   * users are created with `rabbitmqctl` (on `node`), or the management API at `managementUrl`.
   */
  rabbitmq: {
    host: string;
    port: number;
    user: string;
    password: string;
    node?: string;
    managementUrl?: string;
  };
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
    redis: {
      host: env.LOCAL_REDIS_HOST ?? "127.0.0.1",
      port: Number(env.LOCAL_REDIS_PORT ?? 6379),
      ...(env.LOCAL_REDIS_USER ? { user: env.LOCAL_REDIS_USER } : {}),
      ...(env.LOCAL_REDIS_PASSWORD ? { password: env.LOCAL_REDIS_PASSWORD } : {}),
    },
    rabbitmq: {
      host: env.LOCAL_RABBITMQ_HOST ?? "127.0.0.1",
      port: Number(env.LOCAL_RABBITMQ_PORT ?? 5672),
      user: env.LOCAL_RABBITMQ_USER ?? "guest",
      password: env.LOCAL_RABBITMQ_PASSWORD ?? "guest",
      ...(env.LOCAL_RABBITMQ_NODE ? { node: env.LOCAL_RABBITMQ_NODE } : {}),
      ...(env.LOCAL_RABBITMQ_MANAGEMENT_URL ? { managementUrl: env.LOCAL_RABBITMQ_MANAGEMENT_URL } : {}),
    },
    ...(env.ELASTICSEARCH_URL ? { elasticsearchUrl: env.ELASTICSEARCH_URL } : {}),
    ...(minio ? { minio } : {}),
  };
}
