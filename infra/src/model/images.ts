import type { ThirdPartyImageKey } from "./types.js";

/**
 * Every third-party image, pinned in one place. A tag names an exact release (never `latest`);
 * `registryMirror` in the stack config rewrites the registry part so a private mirror can serve
 * all of them.
 */
export const THIRD_PARTY_IMAGES: Record<ThirdPartyImageKey, string> = {
  mariadb: "docker.io/library/mariadb:11.4.5",
  redis: "docker.io/library/redis:7.4.2-alpine",
  rabbitmq: "docker.io/library/rabbitmq:4.0.7-management-alpine",
  minio: "docker.io/minio/minio:RELEASE.2025-04-22T22-12-26Z",
  elasticsearch: "docker.elastic.co/elasticsearch/elasticsearch:8.17.4",
  traefik: "docker.io/library/traefik:v3.3.5",
  prometheus: "docker.io/prom/prometheus:v3.2.1",
  alertmanager: "docker.io/prom/alertmanager:v0.28.1",
  grafana: "docker.io/grafana/grafana:11.6.0",
  loki: "docker.io/grafana/loki:3.4.3",
  promtail: "docker.io/grafana/promtail:3.4.3",
  tempo: "docker.io/grafana/tempo:2.7.2",
  busybox: "docker.io/library/busybox:1.37.0",
};

/** Rewrites `registry/path:tag` to `<mirror>/path:tag` when a mirror is configured. */
export function resolveImage(ref: string, registryMirror?: string): string {
  if (!registryMirror) return ref;
  const firstSlash = ref.indexOf("/");
  const path = ref.slice(firstSlash + 1);
  return `${registryMirror.replace(/\/+$/, "")}/${path}`;
}
