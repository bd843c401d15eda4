/**
 * The bench's tracing mode (`BENCH_TRACING`), so the cost of tracing is measured, not guessed
 * (bench/README.md, "Tracing"):
 * - `off`: `OTEL_SDK_DISABLED=true`, no SDK loaded, no ids in the logs;
 * - `ids` (default, what `npm run dev` does): non-recording spans, ids propagated and logged, nothing exported;
 * - `export`: every span exported over OTLP/HTTP to a local receiver that accepts and counts them,
 *   as Tempo would take them (the receiver's own cost is this process's, not the services').
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

export type TracingMode = "off" | "ids" | "export";

export interface BenchTracing {
  mode: TracingMode;
  env: Record<string, string>;
  /** What the receiver took (export mode). */
  received(): { requests: number; bytes: number };
  stop(): void;
}

export async function benchTracing(value = process.env.BENCH_TRACING ?? "ids"): Promise<BenchTracing> {
  if (value !== "off" && value !== "ids" && value !== "export")
    throw new Error(`BENCH_TRACING must be off, ids or export, not ${value}`);
  let requests = 0;
  let bytes = 0;
  if (value !== "export") {
    return {
      mode: value,
      env: value === "off" ? { OTEL_SDK_DISABLED: "true" } : {},
      received: () => ({ requests, bytes }),
      stop: () => undefined,
    };
  }
  const server = createServer((req, res) => {
    req.on("data", (chunk: Buffer) => {
      bytes += chunk.length;
    });
    req.on("end", () => {
      requests++;
      // An empty ExportTraceServiceResponse: everything accepted.
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    mode: value,
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}` },
    received: () => ({ requests, bytes }),
    stop: () => server.close(),
  };
}
