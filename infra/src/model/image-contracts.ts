import type { ThirdPartyImageKey } from "./types.js";

/**
 * What each pinned third-party image does at run time that the platform depends on: the user it
 * runs as, the paths it declares as `VOLUME`, the directories it ships (Docker fills an empty
 * volume mounted on one of these from the image, ownership included), and its entrypoint.
 *
 * Checked against each image's published Dockerfile or build history (cited per image in
 * `source`: the image's own repository, or docker-library/repo-info's record of the official
 * image's layers, `repos/<image>/remote/<tag>.md`). The provider-rule tests check mounts against
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
    // `groupadd -r mysql && useradd -r -g mysql mysql --home-dir /var/lib/mysql` on Ubuntu noble
    // (the ubuntu user removed first), so the first system IDs: 999:999; the datadir is
    // recreated and chowned to it, /run/mysqld is 1777, VOLUME /var/lib/mysql.
    source:
      "MariaDB/mariadb-docker 11.4/Dockerfile; docker-library/repo-info repos/mariadb/remote/11.4-noble.md (mysql 999:999 owns /var/lib/mysql; no USER: the entrypoint drops to mysql)",
  },
  redis: {
    user: "0:0",
    volumes: ["/data"],
    dirs: { "/data": "999:1000" },
    entrypoint: ["docker-entrypoint.sh"],
    cmd: ["redis-server"],
    // `addgroup -S -g 1000 redis; adduser -S -G redis -u 999 redis`; `mkdir /data && chown
    // redis:redis /data`; VOLUME /data; WORKDIR /data.
    source:
      "docker-library/repo-info repos/redis/remote/7.4-alpine.md (user redis 999, group redis 1000, /data theirs)",
  },
  rabbitmq: {
    user: "0:0",
    volumes: ["/var/lib/rabbitmq"],
    dirs: { "/var/lib/rabbitmq": "100:101", "/etc/rabbitmq": "100:101", "/etc/rabbitmq/conf.d": "100:101" },
    entrypoint: ["docker-entrypoint.sh"],
    cmd: ["rabbitmq-server"],
    // `addgroup -g 101 -S rabbitmq; adduser -u 100 -S -h /var/lib/rabbitmq -G rabbitmq rabbitmq`;
    // the data dir, /etc/rabbitmq and conf.d are chowned to it with mode 1777; conf.d holds
    // 10-defaults.conf only (the management variant deletes
    // 20-management_agent.disable_metrics_collector.conf); HOME=/var/lib/rabbitmq.
    source:
      "docker-library/repo-info repos/rabbitmq/remote/4.0-management-alpine.md (user rabbitmq 100:101; conf.d/10-defaults.conf)",
  },
  minio: {
    user: "0:0",
    volumes: ["/data"],
    dirs: { "/data": "0:0" },
    entrypoint: ["/usr/bin/docker-entrypoint.sh"],
    cmd: ["minio"],
    source:
      'minio/minio Dockerfile.release (every release: VOLUME ["/data"], no USER, ENTRYPOINT /usr/bin/docker-entrypoint.sh, CMD minio)',
  },
  elasticsearch: {
    user: "1000:0",
    volumes: [],
    dirs: { "/usr/share/elasticsearch/data": "1000:0" },
    entrypoint: ["/bin/tini", "--", "/usr/local/bin/docker-entrypoint.sh"],
    cmd: ["eswrapper"],
    // `USER elasticsearch:root` with elasticsearch created as 1000:1000 and
    // /usr/share/elasticsearch chowned 1000:0; no VOLUME.
    source:
      "elastic/elasticsearch distribution/docker/src/docker/Dockerfile (USER elasticsearch:root = 1000:0)",
  },
  traefik: {
    user: "0:0",
    volumes: [],
    dirs: {},
    entrypoint: ["/entrypoint.sh"],
    cmd: ["traefik"],
    source: "traefik/traefik-library-image v3.3/alpine/Dockerfile (no USER, no VOLUME)",
  },
  prometheus: {
    user: "65534:65534",
    volumes: ["/prometheus"],
    dirs: { "/prometheus": "65534:65534", "/etc/prometheus": "65534:65534" },
    entrypoint: ["/bin/prometheus"],
    cmd: ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"],
    // `chown -R nobody:nobody /etc/prometheus /prometheus` (busybox's nobody is 65534:65534).
    source: 'prometheus/prometheus Dockerfile (USER nobody, VOLUME ["/prometheus"], WORKDIR /prometheus)',
  },
  alertmanager: {
    user: "65534:65534",
    volumes: ["/alertmanager"],
    dirs: { "/alertmanager": "65534:65534", "/etc/alertmanager": "65534:65534" },
    entrypoint: ["/bin/alertmanager"],
    cmd: ["--config.file=/etc/alertmanager/alertmanager.yml", "--storage.path=/alertmanager"],
    source:
      'prometheus/alertmanager Dockerfile (/etc/alertmanager and /alertmanager owned nobody, USER nobody, VOLUME ["/alertmanager"])',
  },
  grafana: {
    user: "472:0",
    volumes: [],
    dirs: { "/var/lib/grafana": "472:0" },
    entrypoint: ["/run.sh"],
    cmd: [],
    // ARG GF_UID="472", GF_GID="0"; the data dir is created and chowned to them; no VOLUME.
    source: "grafana/grafana Dockerfile (USER 472 with group 0, GF_PATHS_DATA=/var/lib/grafana)",
  },
  loki: {
    user: "10001:10001",
    volumes: [],
    dirs: { "/loki": "10001:10001", "/etc/loki": "10001:10001" },
    entrypoint: ["/usr/bin/loki"],
    cmd: ["-config.file=/etc/loki/local-config.yaml"],
    source:
      "grafana/loki cmd/loki/Dockerfile (loki 10001:10001 owns /etc/loki and /loki; USER 10001; no VOLUME)",
  },
  tempo: {
    user: "10001:10001",
    volumes: [],
    dirs: { "/var/tempo": "10001:10001" },
    entrypoint: ["/tempo"],
    cmd: [],
    source:
      "grafana/tempo cmd/tempo/Dockerfile (alpine; tempo 10001:10001 owns /var/tempo; USER 10001:10001; ENTRYPOINT /tempo; no VOLUME, no CMD)",
  },
  promtail: {
    user: "0:0",
    volumes: [],
    dirs: {},
    entrypoint: ["/usr/bin/promtail"],
    cmd: ["-config.file=/etc/promtail/config.yml"],
    source: "grafana/loki clients/cmd/promtail/Dockerfile (Ubuntu noble base, no USER, no VOLUME)",
  },
};
