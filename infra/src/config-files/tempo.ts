import { portByName } from "../model/index.js";
import type { ConfigFileContext } from "./context.js";
import { workload } from "./context.js";
import { toYaml } from "./yaml.js";

/** Where Tempo keeps its write-ahead log and blocks: its volume in the model. */
const DATA = "/var/tempo";

/**
 * Tempo 2.7 as one process (every component in one binary): OTLP over HTTP only (what the
 * services send; no gRPC, Jaeger or Zipkin port is opened), blocks on its own volume, kept
 * `retentionDays.traces` days (default 3). The keys follow Tempo's documented configuration
 * (docs/tracing.md says where they come from; test/infra checks them).
 */
export function tempoConfig(ctx: ConfigFileContext): Record<string, unknown> {
  const tempo = workload(ctx.platform, "tempo");
  if (!tempo) throw new Error("the tempo config needs the tempo workload");
  const days = ctx.platform.settings.retentionDays?.traces ?? 3;
  return {
    stream_over_http_enabled: true,
    server: { http_listen_port: portByName(tempo, "http"), log_level: "warn" },
    distributor: {
      receivers: {
        otlp: { protocols: { http: { endpoint: `0.0.0.0:${portByName(tempo, "otlp-http")}` } } },
      },
    },
    ingester: { max_block_duration: "5m" },
    compactor: { compaction: { block_retention: `${days * 24}h` } },
    storage: {
      trace: {
        backend: "local",
        wal: { path: `${DATA}/wal` },
        local: { path: `${DATA}/blocks` },
      },
    },
    usage_report: { reporting_enabled: false },
  };
}

export const tempoYaml = (ctx: ConfigFileContext) => toYaml(tempoConfig(ctx));
