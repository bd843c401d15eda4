import type { IncomingMessage } from "node:http";
import { createRequire } from "node:module";
import { context, propagation, type Span, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { registerInstrumentations } from "@opentelemetry/instrumentation";
import { HttpInstrumentation } from "@opentelemetry/instrumentation-http";
import { RedisInstrumentation } from "@opentelemetry/instrumentation-redis";
import { UndiciInstrumentation } from "@opentelemetry/instrumentation-undici";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  type Sampler,
  type SpanProcessor,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from "@opentelemetry/sdk-trace";
import { ATTR_HTTP_ROUTE } from "@opentelemetry/semantic-conventions";
import { SERVICE_ATTRIBUTE, serviceOfSocket, type TracingHandle, type TracingSettings } from "./tracing.js";

/** Probes and scrapes are not traced: they would outnumber every real request. */
const UNTRACED = new Set(["/health", "/ready", "/metrics"]);

function sampler(settings: TracingSettings): Sampler {
  const ratio = new TraceIdRatioBasedSampler(settings.ratio);
  switch (settings.sampler) {
    case "always_on":
      return new AlwaysOnSampler();
    case "parentbased_always_on":
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case "traceidratio":
      // The edge: a caller's sampled flag is not obeyed (a client could force every trace to
      // be kept); the ratio decides on the trace id, which the caller's traceparent still sets.
      return ratio;
    default:
      return new ParentBasedSampler({ root: ratio });
  }
}

/** The route Express matched, for the server span's name (`GET /orders/:id`, never raw ids). */
function expressRoute(req: IncomingMessage): string | undefined {
  const r = req as IncomingMessage & { route?: { path?: unknown }; baseUrl?: string };
  return r.route?.path !== undefined ? `${r.baseUrl ?? ""}${String(r.route.path)}` : undefined;
}

/**
 * The process-wide provider: parent-based ratio sampling, OTLP/HTTP export in batches when an
 * endpoint is set (none: spans still get ids, propagate and reach the logs, and are dropped),
 * W3C trace context, and the instrumentations of the clients the runtime uses.
 */
export function createProvider(settings: TracingSettings, processors: SpanProcessor[]): TracerProvider {
  return new TracerProvider({
    resource: resourceFromAttributes({
      "service.name": settings.serviceName,
      "service.namespace": "shopstream",
    }),
    sampler: sampler(settings),
    spanProcessors: processors,
  });
}

export function registerGlobals(provider: TracerProvider): void {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (req) => UNTRACED.has((req.url ?? "").split("?")[0] ?? ""),
        // Outgoing node:http calls are traced only inside a trace (never a root per JWKS fetch).
        requireParentforOutgoingSpans: true,
        requestHook: (span: Span, req) => {
          if ("socket" in req && "httpVersion" in req) {
            const service = serviceOfSocket((req as IncomingMessage).socket);
            if (service) span.setAttribute(SERVICE_ATTRIBUTE, service);
          }
        },
        // The instrumentation listens for "close" on each response; the gateway's proxied answers
        // already carry ten listeners (stream pipeline and request log). One more is allowed, so
        // the warning still catches a real leak.
        responseHook: (_span, res) => {
          if ("req" in res) res.setMaxListeners(res.getMaxListeners() + 1);
        },
        applyCustomAttributesOnSpan: (span, req) => {
          if (!("httpVersion" in req)) return;
          const route = expressRoute(req as IncomingMessage);
          if (!route) return;
          span.setAttribute(ATTR_HTTP_ROUTE, route);
          span.updateName(`${req.method ?? "GET"} ${route}`);
        },
      }),
      // Global fetch and the gateway's undici pools, through undici's diagnostics channels.
      new UndiciInstrumentation({ requireParentforSpans: true }),
      new RedisInstrumentation({ requireParentSpan: true }),
    ],
  });
  // The runtime imports node:http before tracing starts; requiring it once more lets the
  // instrumentation patch http.Server.prototype.emit, which every server (Express's too) uses.
  const require = createRequire(import.meta.url);
  require("node:http");
  require("node:https");
}

export function installSdk(settings: TracingSettings): TracingHandle {
  // Without a collector no recorded span would ever be read. Spans are then non-recording: the
  // SDK still gives each a trace and span id, which travel in `traceparent` and reach every log
  // line, but skips their attributes, events and processing (the bench measured recording them
  // for nothing at two thirds of the catalog's throughput: bench/README.md, "Tracing").
  const provider = settings.endpoint
    ? createProvider(settings, [
        new BatchSpanProcessor({
          exporter: new OTLPTraceExporter({ url: settings.endpoint, timeoutMillis: 5000 }),
        }),
      ])
    : new TracerProvider({ sampler: new AlwaysOffSampler() });
  registerGlobals(provider);
  return { flush: () => provider.forceFlush() };
}
