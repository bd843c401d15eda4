import { portByName } from "../model/index.js";
import type { ConfigFileContext } from "./context.js";
import { httpUrl, mountPathOf, workload } from "./context.js";
import { HTTP_DURATION } from "./prometheus.js";
import { toYaml } from "./yaml.js";

const PROMETHEUS = { type: "prometheus", uid: "prometheus" };
const LOKI = { type: "loki", uid: "loki" };
const TEMPO = { type: "tempo", uid: "tempo" };

/**
 * A log line's trace id, as the services write it (`"trace_id":"<32 hex>"`, docs/tracing.md):
 * Loki's derived field turns it into a link to the trace in Tempo.
 */
export const TRACE_ID_FIELD = { name: "TraceID", matcherRegex: '"trace_id":"([0-9a-f]{32})"' };

/** Grafana's Explore on Tempo with a TraceQL query, over the dashboard's time range. */
export function traceSearchUrl(traceql: string): string {
  const pane = {
    datasource: TEMPO.uid,
    queries: [{ refId: "A", datasource: TEMPO, queryType: "traceql", query: traceql, limit: 20 }],
    range: { from: "now-1h", to: "now" },
  };
  return `/explore?schemaVersion=1&panes=${encodeURIComponent(JSON.stringify({ traces: pane }))}`;
}

/** Data sources: Prometheus (default), Loki (its trace ids link to Tempo), Tempo, Alertmanager. */
export function grafanaDatasources(ctx: ConfigFileContext): Record<string, unknown> {
  const { platform } = ctx;
  const url = (name: string) => {
    const w = workload(platform, name);
    if (!w) throw new Error(`Grafana needs the ${name} workload`);
    return httpUrl(ctx, w, portByName(w, "http"));
  };
  return {
    apiVersion: 1,
    datasources: [
      {
        name: "Prometheus",
        ...PROMETHEUS,
        access: "proxy",
        url: url("prometheus"),
        isDefault: true,
        editable: false,
      },
      {
        name: "Loki",
        ...LOKI,
        access: "proxy",
        url: url("loki"),
        editable: false,
        jsonData: {
          // `$$` is a literal `$` in provisioning files (Grafana expands `$VAR` there).
          derivedFields: [{ ...TRACE_ID_FIELD, datasourceUid: TEMPO.uid, url: "$${__value.raw}" }],
        },
      },
      {
        name: "Tempo",
        ...TEMPO,
        access: "proxy",
        url: url("tempo"),
        editable: false,
        jsonData: {
          // From a span to its service's log lines of that trace, around the span's time.
          tracesToLogsV2: {
            datasourceUid: LOKI.uid,
            spanStartTimeShift: "-1m",
            spanEndTimeShift: "1m",
            tags: [{ key: "service.name", value: "service" }],
            filterByTraceID: true,
          },
          serviceMap: { datasourceUid: PROMETHEUS.uid },
          nodeGraph: { enabled: true },
          search: { hide: false },
        },
      },
      {
        name: "Alertmanager",
        type: "alertmanager",
        uid: "alertmanager",
        access: "proxy",
        url: url("alertmanager"),
        jsonData: { implementation: "prometheus" },
        editable: false,
      },
    ],
  };
}

/** Dashboard provider: the JSON files mounted next to each other, read-only in Grafana. */
export function grafanaDashboardProvider(ctx: ConfigFileContext): Record<string, unknown> {
  const path = mountPathOf(ctx.platform, "grafana-dashboard-overview");
  return {
    apiVersion: 1,
    providers: [
      {
        name: "shopstream",
        folder: "ShopStream",
        type: "file",
        disableDeletion: true,
        allowUiUpdates: false,
        updateIntervalSeconds: 60,
        options: { path: path.slice(0, path.lastIndexOf("/")), foldersFromFilesStructure: false },
      },
    ],
  };
}

interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource: { type: string; uid: string };
  targets: Record<string, unknown>[];
  fieldConfig?: Record<string, unknown>;
  options?: Record<string, unknown>;
  /** Panel links (the corner menu): from a service's RED panels to its traces. */
  links?: { title: string; url: string; targetBlank?: boolean }[];
  collapsed?: boolean;
  panels?: Panel[];
}

class Layout {
  private id = 1;
  private y = 0;
  private x = 0;
  readonly panels: Panel[] = [];

  row(title: string): void {
    this.newLine();
    this.panels.push({
      id: this.id++,
      type: "row",
      title,
      gridPos: { x: 0, y: this.y, w: 24, h: 1 },
      datasource: PROMETHEUS,
      targets: [],
      collapsed: false,
    });
    this.y += 1;
  }

  add(panel: Omit<Panel, "id" | "gridPos">, w = 8, h = 8): void {
    if (this.x + w > 24) this.newLine(h);
    this.panels.push({ ...panel, id: this.id++, gridPos: { x: this.x, y: this.y, w, h } });
    this.x += w;
    this.lastHeight = h;
  }

  private lastHeight = 0;
  private newLine(h = this.lastHeight): void {
    if (this.x > 0) this.y += h;
    this.x = 0;
  }
}

const prom = (expr: string, legendFormat: string) => ({
  datasource: PROMETHEUS,
  expr,
  legendFormat,
  refId: "A",
});
const timeseries = (
  title: string,
  expr: string,
  legend: string,
  unit: string,
): Omit<Panel, "id" | "gridPos"> => ({
  type: "timeseries",
  title,
  datasource: PROMETHEUS,
  targets: [prom(expr, legend)],
  fieldConfig: { defaults: { unit }, overrides: [] },
});

function dashboard(uid: string, title: string, panels: Panel[], templating: unknown[] = []) {
  return {
    uid,
    title,
    tags: ["shopstream"],
    timezone: "utc",
    schemaVersion: 39,
    version: 1,
    editable: false,
    refresh: "30s",
    time: { from: "now-1h", to: "now" },
    templating: { list: templating },
    panels,
  };
}

/** A service's traces in Tempo: its failed ones, its slow ones, all of them. */
function traceLinks(service: string): NonNullable<Panel["links"]> {
  const of = `resource.service.name="${service}"`;
  return [
    { title: `${service}: failed traces`, url: traceSearchUrl(`{${of} && status=error}`) },
    {
      title: `${service}: slowest requests (> 500 ms)`,
      url: traceSearchUrl(`{${of} && kind=server && duration>500ms}`),
    },
    { title: `${service}: all traces`, url: traceSearchUrl(`{${of}}`) },
  ];
}

/**
 * Platform overview: request rate, 5xx ratio and latency for every service that exports the
 * request histogram, one row per app service of the model (declaring a service charts it).
 */
export function overviewDashboard(ctx: ConfigFileContext): Record<string, unknown> {
  const layout = new Layout();
  const count = `${HTTP_DURATION}_count`;
  const bucket = `${HTTP_DURATION}_bucket`;
  layout.row("All services");
  layout.add(
    timeseries(
      "Requests per second",
      `sum by (service) (rate(${count}[$__rate_interval]))`,
      "{{service}}",
      "reqps",
    ),
  );
  layout.add(
    timeseries(
      "5xx ratio",
      `sum by (service) (rate(${count}{status_code=~"5.."}[$__rate_interval])) / sum by (service) (rate(${count}[$__rate_interval]))`,
      "{{service}}",
      "percentunit",
    ),
  );
  layout.add(
    timeseries(
      "p99 duration",
      `histogram_quantile(0.99, sum by (service, le) (rate(${bucket}[$__rate_interval])))`,
      "{{service}}",
      "s",
    ),
  );
  layout.add(
    {
      type: "stat",
      title: "Targets up",
      datasource: PROMETHEUS,
      targets: [prom("up", "{{service}} {{instance}}")],
      fieldConfig: {
        defaults: {
          mappings: [
            {
              type: "value",
              options: { "0": { text: "DOWN", color: "red" }, "1": { text: "UP", color: "green" } },
            },
          ],
        },
        overrides: [],
      },
      options: { colorMode: "background", graphMode: "none", textMode: "value_and_name" },
    },
    24,
    6,
  );
  for (const w of ctx.platform.workloads.filter((x) => x.tier === "app" && x.scrape)) {
    const sel = `service="${w.name}"`;
    const traces = traceLinks(w.name);
    layout.row(w.name);
    layout.add({
      ...timeseries(
        `${w.name}: requests by route`,
        `sum by (method, route) (rate(${count}{${sel}}[$__rate_interval]))`,
        "{{method}} {{route}}",
        "reqps",
      ),
      links: traces,
    });
    layout.add({
      ...timeseries(
        `${w.name}: errors by status`,
        `sum by (status_code) (rate(${count}{${sel}, status_code=~"[45].."}[$__rate_interval]))`,
        "{{status_code}}",
        "reqps",
      ),
      links: traces,
    });
    const quantile = (q: number) =>
      `histogram_quantile(${q}, sum by (le) (rate(${bucket}{${sel}}[$__rate_interval])))`;
    layout.add({
      type: "timeseries",
      title: `${w.name}: duration`,
      datasource: PROMETHEUS,
      targets: [
        { ...prom(quantile(0.5), "p50"), refId: "A" },
        { ...prom(quantile(0.95), "p95"), refId: "B" },
        { ...prom(quantile(0.99), "p99"), refId: "C" },
      ],
      fieldConfig: { defaults: { unit: "s" }, overrides: [] },
      links: traces,
    });
  }
  return dashboard("shopstream-overview", "ShopStream — platform overview", layout.panels);
}

/** Business metrics exported by the analytics service (docs/service-contracts.md). */
export function businessDashboard(): Record<string, unknown> {
  const layout = new Layout();
  layout.row("Orders and revenue");
  layout.add(
    timeseries(
      "Orders by status",
      "sum by (status) (increase(shopstream_orders_total[$__rate_interval]))",
      "{{status}}",
      "short",
    ),
  );
  layout.add(
    timeseries(
      "Revenue per hour",
      "sum(increase(shopstream_revenue_cents_total[1h])) / 100",
      "revenue",
      "currencyEUR",
    ),
  );
  layout.add(
    timeseries(
      "Payment failures",
      "sum(increase(shopstream_payment_failures_total[$__rate_interval]))",
      "failures",
      "short",
    ),
  );
  layout.row("Shopping and events");
  layout.add(
    timeseries(
      "Cart additions",
      "sum(increase(shopstream_cart_additions_total[$__rate_interval]))",
      "additions",
      "short",
    ),
  );
  layout.add(
    timeseries(
      "Events by type",
      "sum by (type) (rate(shopstream_events_total[$__rate_interval]))",
      "{{type}}",
      "ops",
    ),
  );
  layout.add(
    timeseries(
      "Conversion (orders / cart additions, 1h)",
      'sum(increase(shopstream_orders_total{status="paid"}[1h])) / sum(increase(shopstream_cart_additions_total[1h]))',
      "conversion",
      "percentunit",
    ),
  );
  layout.row("Delivery health");
  layout.add(
    timeseries("Outbox backlog", "max by (service) (shopstream_outbox_pending)", "{{service}}", "short"),
  );
  layout.add(
    timeseries(
      "Dead-lettered events",
      'sum by (queue) (rabbitmq_queue_messages{queue=~".+\\\\.dead"})',
      "{{queue}}",
      "short",
    ),
  );
  layout.add(
    timeseries(
      "Queue depth",
      'sum by (queue) (rabbitmq_queue_messages{queue!~".+\\\\.(dead|retry)"})',
      "{{queue}}",
      "short",
    ),
  );
  return dashboard("shopstream-business", "ShopStream — business", layout.panels);
}

/** Every container's logs through Loki, filterable by service and text. */
export function logsDashboard(ctx: ConfigFileContext): Record<string, unknown> {
  const layout = new Layout();
  const selector = '{service=~"$service"}';
  layout.add(
    {
      type: "timeseries",
      title: "Log lines by service",
      datasource: LOKI,
      targets: [
        { datasource: LOKI, expr: `sum by (service) (count_over_time(${selector} [$__auto]))`, refId: "A" },
      ],
      fieldConfig: { defaults: { unit: "short" }, overrides: [] },
    },
    12,
    8,
  );
  layout.add(
    {
      type: "timeseries",
      title: "Errors and warnings",
      datasource: LOKI,
      targets: [
        {
          datasource: LOKI,
          expr: `sum by (service, level) (count_over_time(${selector} | level=~"error|fatal|warn" [$__auto]))`,
          refId: "A",
        },
      ],
      fieldConfig: { defaults: { unit: "short" }, overrides: [] },
    },
    12,
    8,
  );
  layout.add(
    {
      type: "logs",
      title: "Logs",
      datasource: LOKI,
      targets: [{ datasource: LOKI, expr: `${selector} |~ "$search"`, refId: "A" }],
      options: { showTime: true, wrapLogMessage: true, sortOrder: "Descending", enableLogDetails: true },
    },
    24,
    16,
  );
  const services = ctx.platform.workloads.map((w) => w.name);
  return dashboard("shopstream-logs", "ShopStream — logs", layout.panels, [
    {
      name: "service",
      type: "custom",
      label: "Service",
      multi: true,
      includeAll: true,
      allValue: ".+",
      query: services.join(","),
      current: { text: "All", value: "$__all" },
      options: [],
    },
    { name: "search", type: "textbox", label: "Contains", query: "" },
  ]);
}

export const grafanaDatasourcesYaml = (ctx: ConfigFileContext) => toYaml(grafanaDatasources(ctx));
export const grafanaDashboardProviderYaml = (ctx: ConfigFileContext) => toYaml(grafanaDashboardProvider(ctx));
export const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;
