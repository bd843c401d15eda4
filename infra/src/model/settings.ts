import type { PlatformSettings } from "./types.js";

/** The local run: processes on 127.0.0.1, the machine's own MariaDB, Redis and RabbitMQ. */
export function localSettings(overrides: Partial<PlatformSettings> = {}): PlatformSettings {
  return {
    environment: "local",
    hosts: {
      app: "127.0.0.1:8080",
      grafana: "127.0.0.1:3000",
      traefik: "127.0.0.1:8082",
      prometheus: "127.0.0.1:9090",
      alertmanager: "127.0.0.1:9093",
    },
    publicScheme: "http",
    appReplicas: 1,
    maxReplicas: 0,
    search: "mariadb",
    images: "local",
    observability: false,
    userPrefix: "shopstream",
    // The developer's broker: its default vhost, where the admin user (guest) can clean up.
    brokerVhost: "/",
    resourceScale: 1,
    logLevel: "info",
    // Every process on this machine's network; the local run moves the ports for a second run.
    sharedHost: { portOffset: 0 },
    ...overrides,
  };
}
