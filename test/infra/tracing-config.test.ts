import { trace } from "@opentelemetry/api";
import { createLogger } from "@shopstream/runtime";
import { installTestTracing } from "@shopstream/runtime/testing";
import { describe, expect, it } from "vitest";
import { parseStackConfig, platformSettings } from "../../infra/src/config.js";
import {
  type ConfigFileContext,
  grafanaDatasources,
  overviewDashboard,
  renderConfigFile,
  TRACE_ID_FIELD,
  tempoConfig,
} from "../../infra/src/config-files/index.js";
import {
  buildPlatform,
  containerResolver,
  localSettings,
  type PlatformSettings,
  renderEnv,
} from "../../infra/src/model/index.js";
import { APP_SERVICES } from "../support/design.js";

const yamlName = "js-yaml";
const yaml = (await import(yamlName)) as { load(text: string): unknown };

function context(
  settings: Partial<PlatformSettings> = {},
  stackConfig: Record<string, string> = {},
): ConfigFileContext {
  const platform = buildPlatform({ ...platformSettings(parseStackConfig(stackConfig, "dev")), ...settings });
  return {
    platform,
    host: containerResolver.host,
    scrapeDiscovery: (w, port) => ({ static_configs: [{ targets: [`${w.name}:${port}`] }] }),
    logDiscovery: "docker",
    edge: { tls: { mode: "self-signed" }, httpsPort: 443 },
  };
}

/**
 * Every key Tempo 2.x's documented configuration has at these paths, as used by the upstream
 * single-binary examples (grafana/tempo `example/docker-compose/*`): a misspelt or misplaced key
 * makes Tempo refuse to start, and the binary is not installable here to try the file.
 */
const TEMPO_KEYS = new Set([
  "stream_over_http_enabled",
  "server.http_listen_port",
  "server.log_level",
  "distributor.receivers.otlp.protocols.http.endpoint",
  "distributor.receivers.otlp.protocols.grpc.endpoint",
  "ingester.max_block_duration",
  "ingester.trace_idle_period",
  "ingester.max_block_bytes",
  "compactor.compaction.block_retention",
  "compactor.compaction.compacted_block_retention",
  "storage.trace.backend",
  "storage.trace.wal.path",
  "storage.trace.local.path",
  "usage_report.reporting_enabled",
]);

const leaves = (value: unknown, prefix = ""): string[] =>
  value && typeof value === "object" && !Array.isArray(value)
    ? Object.entries(value).flatMap(([k, v]) => leaves(v, prefix ? `${prefix}.${k}` : k))
    : [prefix];

describe("tracing in the observability stack", () => {
  it("configures Tempo with documented keys only: OTLP/HTTP on the model's port, blocks on its volume, the stack's retention", () => {
    // As `pulumi config set traceRetentionDays 5` sets it.
    const ctx = context({}, { traceRetentionDays: "5" });
    const file = yaml.load(renderConfigFile("tempo-config", ctx));
    expect(file).toEqual(tempoConfig(ctx));
    for (const key of leaves(file)) expect(TEMPO_KEYS, key).toContain(key);
    const config = tempoConfig(ctx) as {
      server: { http_listen_port: number };
      distributor: { receivers: Record<string, { protocols: Record<string, { endpoint: string }> }> };
      compactor: { compaction: { block_retention: string } };
      storage: { trace: { wal: { path: string }; local: { path: string } } };
    };
    const tempo = ctx.platform.workloads.find((w) => w.name === "tempo")!;
    expect(config.server.http_listen_port).toBe(tempo.ports.find((p) => p.name === "http")!.port);
    // Only the receiver the services use is open.
    expect(Object.keys(config.distributor.receivers)).toEqual(["otlp"]);
    expect(config.distributor.receivers.otlp!.protocols).toEqual({ http: { endpoint: "0.0.0.0:4318" } });
    expect(tempo.ports[0]).toEqual({ name: "otlp-http", port: 4318 });
    expect(config.compactor.compaction.block_retention).toBe("120h");
    const volume = tempo.volumes[0]!.mountPath;
    expect(config.storage.trace.wal.path.startsWith(`${volume}/`)).toBe(true);
    expect(config.storage.trace.local.path.startsWith(`${volume}/`)).toBe(true);
    // Its health check asks the query port, where /ready is.
    expect(tempo.health?.port).toBe("http");
  });

  it("points every app service at Tempo with the stack's ratio; the gateway ignores a client's sampled flag", () => {
    // As `pulumi config set traceSampleRatio 0.25` sets it.
    const ctx = context({}, { traceSampleRatio: "0.25" });
    for (const name of APP_SERVICES) {
      const w = ctx.platform.workloads.find((x) => x.name === name)!;
      const env = renderEnv(ctx.platform, w, containerResolver);
      expect(env.OTEL_EXPORTER_OTLP_ENDPOINT, name).toBe("http://tempo:4318");
      expect(env.OTEL_TRACES_SAMPLER_ARG, name).toBe("0.25");
      expect(env.OTEL_TRACES_SAMPLER, name).toBe(
        name === "gateway" ? "traceidratio" : "parentbased_traceidratio",
      );
      expect(w.networks, name).toContain("tracing");
    }
  });

  it("exports nothing in the local run unless the developer gives an endpoint", () => {
    const platform = buildPlatform(localSettings());
    expect(platform.workloads.some((w) => w.name === "tempo")).toBe(false);
    for (const w of platform.workloads.filter((x) => x.tier === "app")) {
      const env = renderEnv(platform, w, { ...containerResolver, host: () => "127.0.0.1" });
      expect(env.OTEL_EXPORTER_OTLP_ENDPOINT, w.name).toBeUndefined();
      expect(w.networks).not.toContain("tracing");
    }
  });

  it("gives Grafana a Tempo data source, and Loki a derived field that finds the trace id in a real log line", () => {
    const ctx = context();
    const sources = (grafanaDatasources(ctx) as { datasources: Record<string, unknown>[] }).datasources;
    const tempo = sources.find((d) => d.type === "tempo")!;
    expect(tempo).toMatchObject({ uid: "tempo", url: "http://tempo:3200", access: "proxy" });
    const loki = sources.find((d) => d.type === "loki") as {
      jsonData: { derivedFields: { matcherRegex: string; datasourceUid: string; url: string }[] };
    };
    const [field] = loki.jsonData.derivedFields;
    expect(field).toMatchObject({ datasourceUid: "tempo", url: "$${__value.raw}" });
    // The rendered YAML keeps the escaped `$$` Grafana's provisioning needs.
    expect(renderConfigFile("grafana-datasources", ctx)).toContain("$${__value.raw}");

    // A line as a service writes it inside a span.
    installTestTracing();
    const lines: string[] = [];
    const logger = createLogger("order", "info", { write: (l: string) => lines.push(l) });
    const span = trace.getTracer("test").startSpan("work");
    trace.getTracer("test").startActiveSpan("inner", (inner) => {
      logger.info({ orderId: "o-1" }, "order created");
      inner.end();
    });
    span.end();
    const match = new RegExp(field!.matcherRegex).exec(lines[0]!);
    expect(match?.[1]).toMatch(/^[0-9a-f]{32}$/);
    expect(JSON.parse(lines[0]!).trace_id).toBe(match?.[1]);
    expect(TRACE_ID_FIELD.matcherRegex).toBe(field!.matcherRegex);
  });

  it("links each service's RED panels to its failed and slow traces in Tempo", () => {
    const ctx = context();
    const panels = (overviewDashboard(ctx) as { panels: { title: string; links?: { url: string }[] }[] })
      .panels;
    for (const name of APP_SERVICES) {
      const own = panels.filter((p) => p.title.startsWith(`${name}:`));
      expect(own.length, name).toBe(3);
      for (const p of own) {
        const queries = (p.links ?? []).map((l) => {
          const panes = JSON.parse(new URL(l.url, "http://grafana").searchParams.get("panes")!) as Record<
            string,
            { datasource: string; queries: { query: string }[] }
          >;
          const pane = Object.values(panes)[0]!;
          expect(pane.datasource).toBe("tempo");
          return pane.queries[0]!.query;
        });
        expect(queries, p.title).toContain(`{resource.service.name="${name}" && status=error}`);
      }
    }
  });
});
