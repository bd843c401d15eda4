import { SpanKind, trace } from "@opentelemetry/api";
import {
  amqpEnv,
  connectBroker,
  createDb,
  createEvent,
  createLogger,
  createMetrics,
  dbEnv,
  enqueueEvent,
  loadConfig,
  migrate,
  outboxMigration,
  outboxTraceMigration,
  startOutboxRelay,
  tracingSettings,
  withTransaction,
} from "@shopstream/runtime";
import { installTestTracing } from "@shopstream/runtime/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { createTestDatabase, type TestDatabase, testBroker } from "../support/infra.js";

const exporter = installTestTracing();
const silent = createLogger("tracing-test", "silent");
const tracer = trace.getTracer("test");

describe("traces through RabbitMQ", () => {
  let db: TestDatabase;
  const broker = testBroker("tracing");
  const config = loadConfig(z.object(amqpEnv), broker.env);

  beforeAll(async () => {
    db = await createTestDatabase("tracing");
  });
  afterAll(async () => {
    await db.drop();
    await broker.cleanup(["work"]);
  });

  it("keeps the publisher's trace in every attempt of a retried delivery", async () => {
    const b = connectBroker(config, silent);
    let failures = 0;
    const handled: string[] = [];
    await b.consume(
      "work",
      ["retry.*"],
      async (event) => {
        if (failures++ < 1) throw new Error("transient");
        handled.push(event.id);
      },
      { maxAttempts: 3, backoffMs: [50] },
    );
    const event = createEvent("retry.once", {});
    const traceId = await tracer.startActiveSpan("request", async (span) => {
      await b.publish(event);
      span.end();
      return span.spanContext().traceId;
    });
    await expect.poll(() => handled, { timeout: 5000 }).toEqual([event.id]);
    await b.close();

    const spans = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
    const publish = spans.find((s) => s.kind === SpanKind.PRODUCER)!;
    expect(publish.attributes["messaging.message.id"]).toBe(event.id);
    const attempts = spans
      .filter((s) => s.kind === SpanKind.CONSUMER)
      .sort(
        (a, c) =>
          Number(a.attributes["messaging.rabbitmq.message.attempt"]) -
          Number(c.attributes["messaging.rabbitmq.message.attempt"]),
      );
    expect(attempts.map((s) => s.attributes["messaging.rabbitmq.message.attempt"])).toEqual([1, 2]);
    for (const a of attempts) expect(a.parentSpanContext?.spanId).toBe(publish.spanContext().spanId);
    // The failed attempt says so.
    expect(attempts[0]!.status.code).toBe(2);
    expect(attempts[1]!.status.code).not.toBe(2);
  });

  it("publishes an outbox row in the trace of the transaction that wrote it, not the relay's", async () => {
    const pool = createDb(loadConfig(z.object(dbEnv), db.env));
    await migrate(pool, [outboxMigration(1), outboxTraceMigration()], silent);
    const b = connectBroker(config, silent);
    const received: string[] = [];
    await b.consume("work", ["outboxed.*"], async (event) => {
      received.push(event.id);
    });
    const event = createEvent("outboxed.thing", {});
    const writer = await tracer.startActiveSpan("checkout", async (span) => {
      await withTransaction(pool, (conn) => enqueueEvent(conn, event));
      span.end();
      return span.spanContext();
    });
    const relay = startOutboxRelay({
      db: pool,
      broker: b,
      logger: silent,
      metrics: createMetrics("t"),
      intervalMs: 50,
    });
    await expect.poll(() => received, { timeout: 5000 }).toEqual([event.id]);
    await relay.stop();
    await b.close();
    await pool.end();

    const spans = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === writer.traceId);
    const publish = spans.find(
      (s) => s.kind === SpanKind.PRODUCER && s.attributes["messaging.message.id"] === event.id,
    )!;
    expect(publish.parentSpanContext?.spanId).toBe(writer.spanId);
    const consume = spans.find((s) => s.kind === SpanKind.CONSUMER)!;
    expect(consume.parentSpanContext?.spanId).toBe(publish.spanContext().spanId);
    // The INSERT into the outbox is a MariaDB span of the checkout.
    expect(
      spans.some(
        (s) =>
          s.attributes["db.system.name"] === "mariadb" &&
          /INSERT INTO outbox/.test(String(s.attributes["db.query.text"])),
      ),
    ).toBe(true);
  });
});

describe("tracing settings", () => {
  it("reads the standard variables and stops on a wrong one with a line naming it", () => {
    expect(tracingSettings("order", {})).toMatchObject({
      enabled: true,
      endpoint: undefined,
      sampler: "parentbased_traceidratio",
      ratio: 1,
      serviceName: "order",
    });
    expect(tracingSettings("order", { OTEL_EXPORTER_OTLP_ENDPOINT: "http://tempo:4318/" }).endpoint).toBe(
      "http://tempo:4318/v1/traces",
    );
    expect(tracingSettings("order", { OTEL_SDK_DISABLED: "true" }).enabled).toBe(false);
    expect(() => tracingSettings("order", { OTEL_TRACES_SAMPLER_ARG: "1.5" })).toThrow(
      /OTEL_TRACES_SAMPLER_ARG/,
    );
    expect(() => tracingSettings("order", { OTEL_TRACES_SAMPLER: "sometimes" })).toThrow(
      /OTEL_TRACES_SAMPLER/,
    );
    expect(() => tracingSettings("order", { OTEL_EXPORTER_OTLP_ENDPOINT: "tempo:4318" })).toThrow(
      /OTEL_EXPORTER_OTLP_ENDPOINT/,
    );
  });
});
