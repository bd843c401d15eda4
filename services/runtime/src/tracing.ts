import type { IncomingMessage, Server, ServerResponse } from "node:http";
import {
  type Attributes,
  context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";
import { ConfigError } from "./config.js";

/**
 * Tracing hooks of the runtime, on the OpenTelemetry API only (docs/tracing.md). Without an SDK
 * installed (OTEL_SDK_DISABLED=true) every call here is a no-op on the API's no-op tracer; the SDK
 * itself (./tracing-sdk.ts) is loaded only when tracing is on.
 */
const tracer = () => trace.getTracer("@shopstream/runtime");

export interface TracingSettings {
  enabled: boolean;
  /** OTLP/HTTP traces endpoint (`.../v1/traces`); undefined: ids are made, propagated and logged, nothing exported. */
  endpoint: string | undefined;
  sampler: "parentbased_traceidratio" | "traceidratio" | "always_on" | "parentbased_always_on";
  ratio: number;
  serviceName: string;
}

const SAMPLERS = new Set(["parentbased_traceidratio", "traceidratio", "always_on", "parentbased_always_on"]);

/** The standard OTEL_* variables `tracingSettings` reads, for every service. */
export const TRACING_ENV_KEYS = [
  "OTEL_SDK_DISABLED",
  "OTEL_TRACES_SAMPLER",
  "OTEL_TRACES_SAMPLER_ARG",
  "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
  "OTEL_EXPORTER_OTLP_ENDPOINT",
  "OTEL_SERVICE_NAME",
] as const;

/** The standard OTEL_* variables this runtime reads; a wrong value stops the service with one line. */
export function tracingSettings(service: string, env: Record<string, string | undefined>): TracingSettings {
  const disabled = (env.OTEL_SDK_DISABLED ?? "false").trim().toLowerCase();
  if (disabled !== "true" && disabled !== "false")
    throw new ConfigError("OTEL_SDK_DISABLED must be true or false");
  const sampler = (env.OTEL_TRACES_SAMPLER ?? "parentbased_traceidratio").trim();
  if (!SAMPLERS.has(sampler))
    throw new ConfigError(`OTEL_TRACES_SAMPLER must be one of ${[...SAMPLERS].join(", ")}`);
  const ratioText = env.OTEL_TRACES_SAMPLER_ARG?.trim() || "1";
  const ratio = Number(ratioText);
  if (!Number.isFinite(ratio) || ratio < 0 || ratio > 1)
    throw new ConfigError("OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1");
  let endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim() || undefined;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  if (!endpoint && base) endpoint = `${base.replace(/\/+$/, "")}/v1/traces`;
  if (endpoint) {
    try {
      const url = new URL(endpoint);
      if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error();
    } catch {
      throw new ConfigError("OTEL_EXPORTER_OTLP_ENDPOINT must be an http(s) URL");
    }
  }
  return {
    enabled: disabled === "false",
    endpoint,
    sampler: sampler as TracingSettings["sampler"],
    ratio,
    serviceName: env.OTEL_SERVICE_NAME?.trim() || service,
  };
}

export interface TracingHandle {
  /** Exports what is buffered (at shutdown). */
  flush(): Promise<void>;
}

const NO_TRACING: TracingHandle = { flush: async () => undefined };
let installed: TracingHandle | undefined;

/**
 * Installs the SDK once per process (the first service wins: a test process that runs every
 * service shares one provider, or the one a test installed before, see `./testing.ts`).
 */
export async function startTracing(settings: TracingSettings): Promise<TracingHandle> {
  if (installed) return installed;
  if (!settings.enabled) return NO_TRACING;
  const sdk = await import("./tracing-sdk.js");
  installed ??= sdk.installSdk(settings);
  return installed;
}

/** Marks tracing as installed by someone else (a test's in-memory provider). */
export function adoptTracing(handle: TracingHandle): void {
  installed = handle;
}

export const isTracingInstalled = () => installed !== undefined;

// --- which service a span belongs to, for processes that run several (tests, one per file) ---

const serverNames = new WeakMap<object, string>();

/** Remembers which service listens on `server`, so its server spans name it. */
export function nameServer(server: Server, service: string): void {
  serverNames.set(server, service);
}

export function serviceOfSocket(socket: unknown): string | undefined {
  const server = (socket as { server?: object } | undefined)?.server;
  return server ? serverNames.get(server) : undefined;
}

export const SERVICE_ATTRIBUTE = "shopstream.service";

// --- requests a service answers before Express, traced by hand ---

/**
 * Hands the requests `front.claims` accepts straight to `front.handle`, ahead of `server`'s
 * request listener (Express) and of the HTTP instrumentation, which patches
 * `http.Server.prototype.emit` and, for every request, even one it ignores, runs it in a new
 * context and rebinds the request's and the response's event emitters. `handle` traces them
 * itself with `traceRequest`. For the gateway's cached catalog reads that per-request work cost
 * more than the rest of the answer (bench/README.md, "Tracing"). `claims` is asked once.
 */
export function answerClaimedFirst(
  server: Server,
  front: { claims(req: IncomingMessage): boolean; handle(req: IncomingMessage, res: ServerResponse): void },
): void {
  server.emit = function emit(this: Server, event: string | symbol, ...args: unknown[]): boolean {
    if (event === "request" && front.claims(args[0] as IncomingMessage)) {
      front.handle(args[0] as IncomingMessage, args[1] as ServerResponse);
      return true;
    }
    // Looked up per call: the instrumentation may patch the prototype after this server exists.
    return (Object.getPrototypeOf(this) as Server).emit.apply(this, [event, ...args] as never);
  } as Server["emit"];
}

/** A request's trace as its handler needs it: the ids for its log line, and its context. */
export interface RequestTrace {
  /** `trace_id` and `span_id` for the request's log line (empty without tracing). */
  readonly fields: { trace_id?: string; span_id?: string };
  /**
   * Runs `fn` in the span's context: client calls made in it (and in the promises it chains)
   * continue the trace, and lines logged there carry the span's ids.
   */
  run<T>(fn: () => T): T;
}

const UNTRACED_REQUEST: RequestTrace = { fields: {}, run: (fn) => fn() };

/**
 * The SERVER span of a request claimed by `answerClaimedFirst`, made with the API: it continues
 * the caller's `traceparent` and obeys the installed sampler like the instrumentation's spans.
 * Attributes are set, and the span ended when the response closes, only when it is recorded
 * (a collector is configured and the trace sampled); otherwise it costs a sampling decision and
 * two ids, which still reach the log line and, through `run`, the upstream call.
 */
export function traceRequest(
  req: IncomingMessage,
  res: ServerResponse,
  route: string,
  service: string | undefined,
): RequestTrace {
  if (!installed) return UNTRACED_REQUEST;
  const parent = propagation.extract(ROOT_CONTEXT, req.headers);
  const method = req.method ?? "GET";
  const span = tracer().startSpan(`${method} ${route}`, { kind: SpanKind.SERVER }, parent);
  if (span.isRecording()) {
    // The instrumentation's stable HTTP semantic conventions, for the same queries in Tempo.
    span.setAttributes({
      "http.request.method": method,
      "url.scheme": "http",
      "url.path": (req.url ?? "").split("?", 1)[0]!,
      "http.route": route,
      ...(service ? { [SERVICE_ATTRIBUTE]: service } : {}),
      ...(req.socket.remoteAddress ? { "network.peer.address": req.socket.remoteAddress } : {}),
    });
    // The proxied answers already carry ten "close" listeners (stream pipeline, request log).
    res.setMaxListeners(res.getMaxListeners() + 1);
    res.once("close", () => {
      const status = res.headersSent ? res.statusCode : 499;
      span.setAttribute("http.response.status_code", status);
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    });
  }
  const { traceId, spanId } = span.spanContext();
  const ctx = trace.setSpan(parent, span);
  return { fields: { trace_id: traceId, span_id: spanId }, run: (fn) => context.with(ctx, fn) };
}

// --- logs ---

/** `trace_id` and `span_id` of the active span, on every log line written inside it. */
export function traceFields(): { trace_id?: string; span_id?: string } {
  const span = trace.getActiveSpan();
  if (!span) return {};
  const { traceId, spanId } = span.spanContext();
  return { trace_id: traceId, span_id: spanId };
}

// --- RabbitMQ ---

type Headers = Record<string, unknown>;

/**
 * A PRODUCER span around a publish, its context written into the message headers as W3C
 * `traceparent` (and `tracestate`), so the consumer continues the trace.
 */
export async function tracePublish<T>(
  exchange: string,
  routingKey: string,
  messageId: string,
  send: (headers: Headers) => Promise<T>,
): Promise<T> {
  const span = tracer().startSpan(`publish ${routingKey}`, {
    kind: SpanKind.PRODUCER,
    attributes: {
      "messaging.system": "rabbitmq",
      "messaging.operation.type": "send",
      "messaging.destination.name": exchange,
      "messaging.rabbitmq.destination.routing_key": routingKey,
      "messaging.message.id": messageId,
    },
  });
  const headers: Headers = {};
  const ctx = trace.setSpan(context.active(), span);
  propagation.inject(ctx, headers);
  try {
    return await context.with(ctx, () => send(headers));
  } catch (err) {
    failed(span, err);
    throw err;
  } finally {
    span.end();
  }
}

/**
 * A CONSUMER span for one delivery, child of the publish span named in its headers (a retried
 * delivery keeps the original headers, so every attempt joins the same trace).
 */
export function traceConsume<T>(
  queue: string,
  service: string | undefined,
  headers: Headers | undefined,
  attributes: Attributes,
  work: (span: Span) => Promise<T>,
): Promise<T> {
  const parent = propagation.extract(ROOT_CONTEXT, headers ?? {}, headerGetter);
  const span = tracer().startSpan(
    `process ${queue}`,
    {
      kind: SpanKind.CONSUMER,
      attributes: {
        "messaging.system": "rabbitmq",
        "messaging.operation.type": "process",
        "messaging.destination.name": queue,
        ...(service ? { [SERVICE_ATTRIBUTE]: service } : {}),
        ...attributes,
      },
    },
    parent,
  );
  return context.with(trace.setSpan(parent, span), async () => {
    try {
      return await work(span);
    } finally {
      span.end();
    }
  });
}

/** AMQP header values arrive as strings or Buffers. */
const headerGetter = {
  keys: (carrier: Headers) => Object.keys(carrier),
  get: (carrier: Headers, key: string) => {
    const value = carrier[key];
    if (value === undefined) return undefined;
    return Buffer.isBuffer(value) ? value.toString("latin1") : String(value);
  },
};

export function failed(span: Span, err: unknown): void {
  const e = err instanceof Error ? err : new Error(String(err));
  span.recordException(e);
  span.setStatus({ code: SpanStatusCode.ERROR, message: e.message });
}

// --- the outbox: the trace of the transaction that wrote an event, carried to its publish ---

/** The active context as a `traceparent` string (stored beside an outbox row). */
export function currentTraceparent(): string | null {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent ?? null;
}

/** Runs `fn` in the context a stored `traceparent` names (or the root context without one). */
export function withTraceparent<T>(traceparent: string | null | undefined, fn: () => T): T {
  const ctx = traceparent ? propagation.extract(ROOT_CONTEXT, { traceparent }) : ROOT_CONTEXT;
  return context.with(ctx, fn);
}

// --- MariaDB: the driver has no maintained instrumentation, so its calls are wrapped here ---

interface Queryable {
  query: (...args: never[]) => Promise<unknown>;
  execute?: (...args: never[]) => Promise<unknown>;
  batch?: (...args: never[]) => Promise<unknown>;
}

interface DbTarget {
  database: string;
  host: string;
  port: number;
}

const sqlOf = (arg: unknown): string =>
  typeof arg === "string" ? arg : String((arg as { sql?: string } | null)?.sql ?? "");

const wrapped = new WeakSet<object>();

function wrapQueries<T extends Queryable>(target: T, db: DbTarget): T {
  // Pooled connections come back again and again: wrap each one once.
  if (wrapped.has(target)) return target;
  wrapped.add(target);
  for (const method of ["query", "execute", "batch"] as const) {
    const original = target[method] as ((...args: unknown[]) => Promise<unknown>) | undefined;
    if (!original) continue;
    (target as Record<string, unknown>)[method] = function traced(this: unknown, ...args: unknown[]) {
      // Only inside a trace: the relay's polling and the sweeps would otherwise be a root trace each.
      const parent = trace.getActiveSpan();
      if (!parent?.isRecording()) return original.apply(this, args);
      const sql = sqlOf(args[0]);
      const operation = sql.trimStart().split(/\s/, 1)[0]?.toUpperCase() || "QUERY";
      const span = tracer().startSpan(`${operation} ${db.database}`, {
        kind: SpanKind.CLIENT,
        attributes: {
          "db.system.name": "mariadb",
          "db.namespace": db.database,
          "db.operation.name": operation,
          // Parameterised text only: values travel separately and never reach the span.
          "db.query.text": sql.length > 2000 ? `${sql.slice(0, 2000)}…` : sql,
          "server.address": db.host,
          "server.port": db.port,
        },
      });
      return context.with(trace.setSpan(context.active(), span), () =>
        original.apply(this, args).then(
          (result) => {
            span.end();
            return result;
          },
          (err: unknown) => {
            failed(span, err);
            span.end();
            throw err;
          },
        ),
      );
    };
  }
  return target;
}

/** Adds a CLIENT span per statement to a mariadb pool and the connections it hands out. */
export function traceDbPool<P extends Queryable & { getConnection: () => Promise<Queryable> }>(
  pool: P,
  db: DbTarget,
): P {
  if (!isTracingInstalled()) return pool;
  wrapQueries(pool, db);
  const getConnection = pool.getConnection.bind(pool);
  pool.getConnection = async () => wrapQueries(await getConnection(), db);
  return pool;
}
