import { portByName } from "../model/index.js";
import type { ConfigFileContext } from "./context.js";
import { mountPathOf, workload } from "./context.js";
import { toYaml } from "./yaml.js";

/** The request histogram every app service exports (services/runtime/src/metrics.ts). */
export const HTTP_DURATION = "http_request_duration_seconds";

/**
 * Prometheus configuration: one scrape job per workload that declares `scrape` in the model, so a
 * new service is scraped by being declared. Every series carries `service` and `tier` labels.
 */
export function prometheusConfig(ctx: ConfigFileContext): Record<string, unknown> {
  const { platform } = ctx;
  const alertmanager = workload(platform, "alertmanager");
  return {
    global: {
      scrape_interval: "15s",
      evaluation_interval: "15s",
      external_labels: { environment: platform.settings.environment },
    },
    rule_files: [mountPathOf(platform, "prometheus-alerts")],
    ...(alertmanager
      ? {
          alerting: {
            alertmanagers: [
              {
                static_configs: [
                  { targets: [`${ctx.host(alertmanager)}:${portByName(alertmanager, "http")}`] },
                ],
              },
            ],
          },
        }
      : {}),
    scrape_configs: platform.workloads
      .filter((w) => w.scrape)
      .map((w) => {
        // Discovery may bring relabelling of its own (Kubernetes keeps the scrape port's target).
        const { relabel_configs: discovered = [], ...discovery } = ctx.scrapeDiscovery(
          w,
          portByName(w, w.scrape!.port),
        ) as { relabel_configs?: unknown[] };
        return {
          job_name: w.name,
          metrics_path: w.scrape!.path,
          ...discovery,
          relabel_configs: [
            ...discovered,
            // A canary is the same service: its series differ by the `version` label it exports.
            { target_label: "service", replacement: w.canaryOf?.workload ?? w.name },
            { target_label: "tier", replacement: w.tier },
          ],
        };
      }),
  };
}

export interface AlertRule {
  alert: string;
  expr: string;
  for: string;
  labels: { severity: "warning" | "critical" };
  annotations: { summary: string; description: string; runbook_url?: string };
}

/** Alert rules over what the platform exports. */
export function alertRules(): { groups: { name: string; rules: AlertRule[] }[] } {
  const requests = `${HTTP_DURATION}_count`;
  return {
    groups: [
      {
        name: "shopstream-availability",
        rules: [
          {
            alert: "TargetDown",
            expr: "up == 0",
            for: "2m",
            labels: { severity: "critical" },
            annotations: {
              summary: "{{ $labels.service }} is not answering its metrics endpoint",
              description: "Prometheus could not scrape {{ $labels.instance }} for 2 minutes.",
            },
          },
          {
            alert: "HighErrorRatio",
            expr: `sum by (service) (rate(${requests}{status_code=~"5.."}[5m])) / sum by (service) (rate(${requests}[5m])) > 0.05`,
            for: "5m",
            labels: { severity: "critical" },
            annotations: {
              summary: "{{ $labels.service }} answers more than 5% of requests with a 5xx",
              description: "5xx ratio is {{ $value | humanizePercentage }} over the last 5 minutes.",
            },
          },
          {
            alert: "HighLatencyP99",
            expr: `histogram_quantile(0.99, sum by (service, le) (rate(${HTTP_DURATION}_bucket[5m]))) > 1`,
            for: "10m",
            labels: { severity: "warning" },
            annotations: {
              summary: "{{ $labels.service }} p99 latency is above 1s",
              description: "p99 request duration is {{ $value | humanizeDuration }}.",
            },
          },
        ],
      },
      {
        name: "shopstream-messaging",
        rules: [
          {
            alert: "DeadLetterQueueNotEmpty",
            expr: 'sum by (queue) (rabbitmq_queue_messages{queue=~".+\\\\.dead"}) > 0',
            for: "1m",
            labels: { severity: "warning" },
            annotations: {
              summary: "{{ $value }} dead-lettered events wait in {{ $labels.queue }}",
              description:
                "{{ $value }} events in {{ $labels.queue }} failed for the last time (a bug, bad data, or a store away longer than EVENT_RETRY_UNAVAILABLE_MS). Find the cause in the consumer's logs, fix it, then re-drive the queue (runbook).",
              runbook_url: "docs/dead-letters.md",
            },
          },
          {
            alert: "OutboxBacklog",
            expr: "max by (service) (shopstream_outbox_pending) > 100",
            for: "10m",
            labels: { severity: "warning" },
            annotations: {
              summary: "{{ $labels.service }} has {{ $value }} unpublished outbox events",
              description: "The transactional outbox is not draining: is RabbitMQ reachable?",
            },
          },
          {
            // /ready leaves these out so that the service keeps answering (docs/faults.md); this
            // is where an outage of one of them shows.
            alert: "DependencyDegraded",
            expr: 'min by (service, dependency) (shopstream_dependency_up{required="false"}) == 0',
            for: "5m",
            labels: { severity: "warning" },
            annotations: {
              summary: "{{ $labels.service }} runs without {{ $labels.dependency }}",
              description:
                "The service answers, degraded (see its /health): restore the dependency before it matters.",
            },
          },
        ],
      },
    ],
  };
}

/** Alertmanager routing: critical alerts apart from warnings, grouped per alert and service. */
export function alertmanagerConfig(): Record<string, unknown> {
  return {
    route: {
      receiver: "operators",
      group_by: ["alertname", "service"],
      group_wait: "30s",
      group_interval: "5m",
      repeat_interval: "4h",
      routes: [{ matchers: ['severity="critical"'], receiver: "on-call", repeat_interval: "1h" }],
    },
    inhibit_rules: [
      {
        source_matchers: ['alertname="TargetDown"'],
        target_matchers: ['severity="warning"'],
        equal: ["service"],
      },
    ],
    // Receivers without integrations: alerts are visible in Alertmanager and Grafana. Add
    // e-mail, Slack or webhook settings here to notify someone (docs/operations.md, "Alerts").
    receivers: [{ name: "operators" }, { name: "on-call" }],
  };
}

const header = "# Generated from the ShopStream platform model (infra/src/config-files/prometheus.ts).\n";
export const prometheusYaml = (ctx: ConfigFileContext) => header + toYaml(prometheusConfig(ctx));
export const alertRulesYaml = () => header + toYaml(alertRules());
export const alertmanagerYaml = () => header + toYaml(alertmanagerConfig());
