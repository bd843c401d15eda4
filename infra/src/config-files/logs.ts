import { portByName } from "../model/index.js";
import type { ConfigFileContext } from "./context.js";
import { httpUrl, LABELS, workload } from "./context.js";
import { toYaml } from "./yaml.js";

/** Loki 3, single binary, filesystem storage (TSDB, schema v13), retention by the compactor. */
export function lokiConfig(ctx: ConfigFileContext): Record<string, unknown> {
  const loki = workload(ctx.platform, "loki");
  if (!loki) throw new Error("the platform has no loki workload");
  const dataDir = loki.volumes[0]?.mountPath ?? "/loki";
  const retentionHours = (ctx.platform.settings.retentionDays?.logs ?? 7) * 24;
  const alertmanager = workload(ctx.platform, "alertmanager");
  return {
    auth_enabled: false,
    server: {
      http_listen_port: portByName(loki, "http"),
      grpc_listen_port: 9096,
      log_level: "warn",
      log_format: "json",
    },
    common: {
      instance_addr: "127.0.0.1",
      path_prefix: dataDir,
      storage: { filesystem: { chunks_directory: `${dataDir}/chunks`, rules_directory: `${dataDir}/rules` } },
      replication_factor: 1,
      ring: { kvstore: { store: "inmemory" } },
    },
    schema_config: {
      configs: [
        {
          from: "2024-01-01",
          store: "tsdb",
          object_store: "filesystem",
          schema: "v13",
          index: { prefix: "index_", period: "24h" },
        },
      ],
    },
    limits_config: {
      retention_period: `${retentionHours}h`,
      reject_old_samples: true,
      reject_old_samples_max_age: `${retentionHours}h`,
      allow_structured_metadata: true,
      volume_enabled: true,
    },
    compactor: {
      working_directory: `${dataDir}/compactor`,
      compaction_interval: "10m",
      retention_enabled: true,
      retention_delete_delay: "2h",
      delete_request_store: "filesystem",
    },
    ...(alertmanager
      ? { ruler: { alertmanager_url: httpUrl(ctx, alertmanager, portByName(alertmanager, "http")) } }
      : {}),
    analytics: { reporting_enabled: false },
  };
}

/**
 * Where the Docker engine keeps each container's `json-file` log, on the host and (bind-mounted
 * read-only at the same path) in Promtail: `<dir>/<id>/<id>-json.log`.
 */
export const DOCKER_CONTAINERS_DIR = "/var/lib/docker/containers";

/**
 * The container labels every log line carries in its `attrs` (the `json-file` driver's `labels`
 * option), so that Promtail can label streams without asking the Docker API.
 */
export const LOGGED_LABELS = [LABELS.stack, LABELS.workload, LABELS.tier] as const;

/**
 * Promtail: on Docker, tails the engine's `json-file` logs and keeps the lines of this stack's
 * containers (their labels ride in each line); on Kubernetes, the pods of the platform's
 * namespaces (their log files on its node). Labels each stream with its service, container and
 * stream, and lifts the JSON `level` our services log into a label.
 */
export function promtailConfig(ctx: ConfigFileContext): Record<string, unknown> {
  const promtail = workload(ctx.platform, "promtail");
  const loki = workload(ctx.platform, "loki");
  if (!promtail || !loki) throw new Error("the platform has no promtail or loki workload");
  const env = ctx.platform.settings.environment;
  const discovery = ctx.logDiscovery;
  return {
    server: { http_listen_port: portByName(promtail, "http"), grpc_listen_port: 0, log_level: "warn" },
    positions: { filename: `${promtail.volumes[0]?.mountPath ?? "/var/lib/promtail"}/positions.yaml` },
    clients: [{ url: httpUrl(ctx, loki, portByName(loki, "http"), "/loki/api/v1/push") }],
    scrape_configs:
      discovery === "docker" ? dockerLogScrape(env) : kubernetesLogScrape(env, discovery.kubernetes),
  };
}

/**
 * The engine's log files, read directly: no Docker API (a read-only socket still grants the whole
 * API, i.e. root on the host). Each line is `{"log", "stream", "attrs", "time"}`; `attrs` holds
 * the container's labels (`LOGGED_LABELS`) and its name (the `tag` option). Lines of other stacks'
 * or other containers are dropped; the line kept is the process's own output at its own time.
 */
function dockerLogScrape(env: string): Record<string, unknown>[] {
  const attr = (label: string) => `attrs."${label}"`;
  return [
    {
      job_name: "containers",
      static_configs: [
        { targets: ["localhost"], labels: { __path__: `${DOCKER_CONTAINERS_DIR}/*/*-json.log` } },
      ],
      pipeline_stages: [
        {
          json: {
            expressions: {
              output: "log",
              stream: "stream",
              time: "time",
              stack: attr(LABELS.stack),
              service: attr(LABELS.workload),
              tier: attr(LABELS.tier),
              container: "attrs.tag",
            },
          },
        },
        { labels: { stack: null, service: null, tier: null, stream: null, container: null } },
        { match: { selector: `{stack!="${env}"}`, action: "drop", drop_counter_reason: "other_stack" } },
        { labeldrop: ["filename"] },
        { timestamp: { source: "time", format: "RFC3339Nano" } },
        { output: { source: "output" } },
        // The app services' lines say their level and, on both sides of a canary, their version.
        { json: { expressions: { level: "level", version: "version" } } },
        { labels: { level: null, version: null } },
      ],
    },
  ];
}

/**
 * Pods of the given namespaces, read from the node's `/var/log/pods` (CRI format). `__host__`
 * is the pod's node: Promtail (its HOSTNAME set to the node name) tails only its own node's files.
 */
function kubernetesLogScrape(env: string, k: { namespaces: string[] }): Record<string, unknown>[] {
  const pod = (label: string) => `__meta_kubernetes_pod_label_${label.replace(/[^A-Za-z0-9]/g, "_")}`;
  return [
    {
      job_name: "pods",
      kubernetes_sd_configs: [{ role: "pod", namespaces: { names: k.namespaces } }],
      relabel_configs: [
        { source_labels: ["__meta_kubernetes_pod_node_name"], target_label: "__host__" },
        { source_labels: [pod("app.kubernetes.io/name")], target_label: "service" },
        { source_labels: [pod("app.kubernetes.io/component")], target_label: "tier" },
        { source_labels: [pod("app.kubernetes.io/version")], target_label: "version" },
        { source_labels: ["__meta_kubernetes_namespace"], target_label: "namespace" },
        { source_labels: ["__meta_kubernetes_pod_name"], target_label: "pod" },
        { source_labels: ["__meta_kubernetes_pod_container_name"], target_label: "container" },
        {
          source_labels: ["__meta_kubernetes_pod_uid", "__meta_kubernetes_pod_container_name"],
          separator: "/",
          target_label: "__path__",
          replacement: "/var/log/pods/*$1/*.log",
        },
        { target_label: "stack", replacement: env },
      ],
      pipeline_stages: [
        { cri: {} },
        // The app services' lines say their level and, on both sides of a canary, their version.
        { json: { expressions: { level: "level", version: "version" } } },
        { labels: { level: null, version: null } },
      ],
    },
  ];
}

export const lokiYaml = (ctx: ConfigFileContext) => toYaml(lokiConfig(ctx));
export const promtailYaml = (ctx: ConfigFileContext) => toYaml(promtailConfig(ctx));
