import { publicOrigin } from "./naming.js";
import { httpHealth, secret, thirdParty } from "./parts.js";
import type { PlatformSettings, Workload } from "./types.js";

/** The observability stack: metrics, alerts, dashboards, traces and logs. */
export function observability(s: PlatformSettings): Workload[] {
  const scale = (m: number) => Math.round(m * s.resourceScale);
  return [
    thirdParty({
      name: "prometheus",
      tier: "observability",
      description: "Scrapes every /metrics; evaluates alert rules",
      image: { kind: "third-party", image: "prometheus" },
      ports: [{ name: "http", port: 9090 }],
      args: [
        "--config.file=/etc/prometheus/prometheus.yml",
        "--storage.tsdb.path=/prometheus",
        `--storage.tsdb.retention.time=${s.retentionDays?.metrics ?? 15}d`,
        "--web.enable-lifecycle",
      ],
      // Traefik reaches it over `monitoring`, it scrapes the others over `metrics`; it stays
      // off `frontend`.
      networks: ["metrics", "monitoring"],
      volumes: [{ name: "prometheus-data", mountPath: "/prometheus", sizeGi: 10 }],
      configFiles: [
        { name: "prometheus-config", mountPath: "/etc/prometheus/prometheus.yml" },
        { name: "prometheus-alerts", mountPath: "/etc/prometheus/alerts.yml" },
      ],
      health: httpHealth("/-/healthy", "wget"),
      readinessPath: "/-/ready",
      routes: [{ host: "prometheus", pathPrefix: "/", port: "http" }],
      scrape: { port: "http", path: "/metrics" },
      resources: { cpuMillis: scale(200), memoryMiB: scale(512) },
      stateful: true,
      user: "65534:65534",
      readOnlyRootFilesystem: true,
    }),
    thirdParty({
      name: "alertmanager",
      tier: "observability",
      description: "Routes alerts",
      image: { kind: "third-party", image: "alertmanager" },
      ports: [{ name: "http", port: 9093 }],
      args: [
        "--config.file=/etc/alertmanager/alertmanager.yml",
        "--storage.path=/alertmanager",
        // One replica: no cluster gossip (it needs an RFC 1918 address to advertise, which pod
        // networks outside those ranges do not have, and stops Alertmanager from starting).
        "--cluster.listen-address=",
      ],
      // Traefik reaches it over `monitoring`; the network plan (docs/architecture.md) keeps it off `frontend`.
      networks: ["monitoring"],
      volumes: [{ name: "alertmanager-data", mountPath: "/alertmanager", sizeGi: 1 }],
      configFiles: [{ name: "alertmanager-config", mountPath: "/etc/alertmanager/alertmanager.yml" }],
      health: httpHealth("/-/healthy", "wget"),
      readinessPath: "/-/ready",
      routes: [{ host: "alertmanager", pathPrefix: "/", port: "http" }],
      scrape: { port: "http", path: "/metrics" },
      resources: { cpuMillis: scale(50), memoryMiB: scale(64) },
      stateful: true,
      user: "65534:65534",
      readOnlyRootFilesystem: true,
    }),
    thirdParty({
      name: "grafana",
      tier: "observability",
      description: "Dashboards over Prometheus, Loki and Tempo, provisioned as code",
      image: { kind: "third-party", image: "grafana" },
      ports: [{ name: "http", port: 3000 }],
      env: {
        GF_SECURITY_ADMIN_USER: "admin",
        GF_SECURITY_ADMIN_PASSWORD: secret("grafana-admin-password", "GF_SECURITY_ADMIN_PASSWORD__FILE"),
        GF_SERVER_ROOT_URL: `${publicOrigin(s, "grafana")}/`,
        GF_USERS_ALLOW_SIGN_UP: "false",
        GF_ANALYTICS_REPORTING_ENABLED: "false",
        GF_ANALYTICS_CHECK_FOR_UPDATES: "false",
        GF_PATHS_PROVISIONING: "/etc/grafana/provisioning",
      },
      networks: ["frontend", "monitoring"],
      volumes: [{ name: "grafana-data", mountPath: "/var/lib/grafana", sizeGi: 2 }],
      configFiles: [
        { name: "grafana-datasources", mountPath: "/etc/grafana/provisioning/datasources/shopstream.yml" },
        { name: "grafana-dashboards", mountPath: "/etc/grafana/provisioning/dashboards/shopstream.yml" },
        {
          name: "grafana-dashboard-overview",
          mountPath: "/var/lib/grafana-dashboards/platform-overview.json",
        },
        { name: "grafana-dashboard-business", mountPath: "/var/lib/grafana-dashboards/business.json" },
        { name: "grafana-dashboard-logs", mountPath: "/var/lib/grafana-dashboards/logs.json" },
      ],
      health: httpHealth("/api/health", "wget"),
      routes: [{ host: "grafana", pathPrefix: "/", port: "http" }],
      scrape: { port: "http", path: "/metrics" },
      resources: { cpuMillis: scale(100), memoryMiB: scale(256) },
      dependsOn: ["prometheus", "loki", "tempo"],
      stateful: true,
      user: "472:0",
    }),
    thirdParty({
      name: "tempo",
      tier: "observability",
      description: "Stores every service's traces (OTLP), with retention; Grafana's trace view",
      image: { kind: "third-party", image: "tempo" },
      // OTLP first: the services' endpoint (and on Kubernetes their only allowed port) is it.
      ports: [
        { name: "otlp-http", port: 4318 },
        { name: "http", port: 3200 },
      ],
      args: ["-config.file=/etc/tempo/tempo.yml"],
      // The services reach it over `tracing`, Grafana and Prometheus over `monitoring`.
      networks: ["tracing", "monitoring"],
      volumes: [{ name: "tempo-data", mountPath: "/var/tempo", sizeGi: 10 }],
      configFiles: [{ name: "tempo-config", mountPath: "/etc/tempo/tempo.yml" }],
      health: { ...httpHealth("/ready", "wget"), port: "http" },
      readinessPath: "/ready",
      scrape: { port: "http", path: "/metrics" },
      resources: { cpuMillis: scale(100), memoryMiB: scale(256) },
      stateful: true,
      user: "10001:10001",
      readOnlyRootFilesystem: true,
    }),
    thirdParty({
      name: "loki",
      tier: "observability",
      description: "Stores every container's logs, with retention",
      image: { kind: "third-party", image: "loki" },
      ports: [{ name: "http", port: 3100 }],
      args: ["-config.file=/etc/loki/loki.yml"],
      networks: ["monitoring"],
      volumes: [{ name: "loki-data", mountPath: "/loki", sizeGi: 10 }],
      configFiles: [{ name: "loki-config", mountPath: "/etc/loki/loki.yml" }],
      health: httpHealth("/ready", "wget"),
      readinessPath: "/ready",
      scrape: { port: "http", path: "/metrics" },
      resources: { cpuMillis: scale(100), memoryMiB: scale(256) },
      stateful: true,
      user: "10001:10001",
      readOnlyRootFilesystem: true,
    }),
    thirdParty({
      name: "promtail",
      tier: "observability",
      description: "Ships every container's logs to Loki",
      image: { kind: "third-party", image: "promtail" },
      ports: [{ name: "http", port: 9080 }],
      args: ["-config.file=/etc/promtail/promtail.yml"],
      networks: ["monitoring"],
      configFiles: [{ name: "promtail-config", mountPath: "/etc/promtail/promtail.yml" }],
      // How far it has read each log: kept across restarts, or it ships every log again.
      volumes: [{ name: "promtail-positions", mountPath: "/var/lib/promtail", sizeGi: 1 }],
      health: httpHealth("/ready", "bash"),
      scrape: { port: "http", path: "/metrics" },
      resources: { cpuMillis: scale(50), memoryMiB: scale(128) },
      dependsOn: ["loki"],
      // The engine's log files (Docker) and pods' logs (Kubernetes) are root's, mode 0640 in
      // 0710 folders: it reads them as root with every capability dropped, read-only, and never
      // through the Docker socket (even read-only, that is the whole API: root on the host).
      readsContainerLogs: true,
      user: "0:0",
      readOnlyRootFilesystem: true,
      tmpfs: ["/tmp"],
    }),
  ];
}
