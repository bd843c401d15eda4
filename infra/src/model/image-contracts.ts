import type { ThirdPartyImageKey } from "./types.js";

/**
 * What each pinned third-party image does at run time that the platform depends on: the user it
 * runs as, the paths it declares as `VOLUME`, the directories it ships (Docker fills an empty
 * volume mounted on one of these from the image, ownership included), and its entrypoint. Read
 * from each image's Dockerfile for the pinned tag; the provider-rule tests check mounts against
 * it and the real-engine replay's stand-in images reproduce it (docs/verification.md).
 */
export interface ImageContract {
  /** `USER` of the image, as `uid:gid`; `0:0` when it declares none. */
  user: string;
  /** `VOLUME` paths. */
  volumes: string[];
  /** Directories the image ships that a workload may mount a volume on, with their owner. */
  dirs: Record<string, string>;
  entrypoint: string[];
  cmd: string[];
  /** Where the facts come from. */
  source: string;
}

export const IMAGE_CONTRACTS: Record<Exclude<ThirdPartyImageKey, "busybox">, ImageContract> = {
  mariadb: {
    user: "0:0",
    volumes: ["/var/lib/mysql"],
    dirs: { "/var/lib/mysql": "999:999" },
    entrypoint: ["docker-entrypoint.sh"],
    cmd: ["mariadbd"],
    source: "MariaDB/mariadb-docker 11.4/Dockerfile (user mysql 999:999; the entrypoint drops to it)",
  },
  redis: {
    user: "0:0",
    volumes: ["/data"],
    dirs: { "/data": "999:1000" },
    entrypoint: ["docker-entrypoint.sh"],
    cmd: ["redis-server"],
    source: "docker-library/redis 7.4/alpine/Dockerfile (user redis 999, group redis 1000)",
  },
  rabbitmq: {
    user: "0:0",
    volumes: ["/var/lib/rabbitmq"],
    dirs: { "/var/lib/rabbitmq": "100:101", "/etc/rabbitmq/conf.d": "100:101" },
    entrypoint: ["docker-entrypoint.sh"],
    cmd: ["rabbitmq-server"],
    source:
      "docker-library/rabbitmq 4.0/alpine/Dockerfile and management/Dockerfile (user rabbitmq 100:101; conf.d/10-defaults.conf and the management plugin's file)",
  },
  minio: {
    user: "0:0",
    volumes: ["/data"],
    dirs: { "/data": "0:0" },
    entrypoint: ["/usr/bin/docker-entrypoint.sh"],
    cmd: ["minio"],
    source: 'minio/minio Dockerfile.release (VOLUME ["/data"], no USER)',
  },
  elasticsearch: {
    user: "1000:0",
    volumes: [],
    dirs: { "/usr/share/elasticsearch/data": "1000:0" },
    entrypoint: ["/bin/tini", "--", "/usr/local/bin/docker-entrypoint.sh"],
    cmd: ["eswrapper"],
    source: "elastic/elasticsearch distribution/docker Dockerfile (USER 1000:0)",
  },
  traefik: {
    user: "0:0",
    volumes: [],
    dirs: {},
    entrypoint: ["/entrypoint.sh"],
    cmd: ["traefik"],
    source: "traefik/traefik-library-image v3.3/alpine/Dockerfile",
  },
  prometheus: {
    user: "65534:65534",
    volumes: ["/prometheus"],
    dirs: { "/prometheus": "65534:65534" },
    entrypoint: ["/bin/prometheus"],
    cmd: ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"],
    source: 'prometheus/prometheus Dockerfile (USER nobody, VOLUME ["/prometheus"])',
  },
  alertmanager: {
    user: "65534:65534",
    volumes: ["/alertmanager"],
    dirs: { "/alertmanager": "65534:65534" },
    entrypoint: ["/bin/alertmanager"],
    cmd: ["--config.file=/etc/alertmanager/alertmanager.yml", "--storage.path=/alertmanager"],
    source: 'prometheus/alertmanager Dockerfile (USER nobody, VOLUME ["/alertmanager"])',
  },
  grafana: {
    user: "472:0",
    volumes: [],
    dirs: { "/var/lib/grafana": "472:0" },
    entrypoint: ["/run.sh"],
    cmd: [],
    source: "grafana/grafana packaging/docker/Dockerfile (USER 472, GF_PATHS_DATA=/var/lib/grafana)",
  },
  loki: {
    user: "10001:10001",
    volumes: [],
    dirs: { "/loki": "10001:10001" },
    entrypoint: ["/usr/bin/loki"],
    cmd: ["-config.file=/etc/loki/local-config.yaml"],
    source: "grafana/loki cmd/loki/Dockerfile (USER 10001, /loki owned by it)",
  },
  promtail: {
    user: "0:0",
    volumes: [],
    dirs: {},
    entrypoint: ["/usr/bin/promtail"],
    cmd: ["-config.file=/etc/promtail/config.yml"],
    source: "grafana/loki clients/cmd/promtail/Dockerfile",
  },
};
