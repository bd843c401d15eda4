import { randomUUID } from "node:crypto";
import { createRequire } from "node:module";
import type { Span } from "@opentelemetry/api";
import type amqpManager from "amqp-connection-manager";
import type { AmqpConnectionManager, ChannelWrapper } from "amqp-connection-manager";
import type { ConfirmChannel, ConsumeMessage } from "amqplib";
import { withTimeout } from "./http.js";
import type { Logger } from "./logger.js";
import type { Metrics } from "./metrics.js";
import { isStoreUnavailable } from "./store-unavailable.js";
import { failed, traceConsume, tracePublish } from "./tracing.js";

// Loaded on first use: the services without RabbitMQ (gateway, auth) never pay its memory.
const require = createRequire(import.meta.url);
let amqp: typeof amqpManager | undefined;
const loadAmqp = () => (amqp ??= require("amqp-connection-manager") as typeof amqpManager);

/** The envelope of every event on `shopstream.events` (docs/architecture.md, "The event flow"). */
export interface EventEnvelope<T = Record<string, unknown>> {
  id: string;
  type: string;
  occurredAt: string;
  data: T;
}

export function createEvent<T>(type: string, data: T, id: string = randomUUID()): EventEnvelope<T> {
  return { id, type, occurredAt: new Date().toISOString(), data };
}

export interface AmqpConfig {
  AMQP_URL: string;
  AMQP_USER: string;
  AMQP_PASSWORD: string;
  AMQP_VHOST: string;
  AMQP_EXCHANGE: string;
  AMQP_QUEUE_PREFIX: string;
  /** Declare the topology (default), or only check it exists (a user that may configure nothing). */
  AMQP_DECLARE_TOPOLOGY?: boolean;
  /** The retry policy of every consumer (`amqpEnv` documents each); options of `consume` win. */
  EVENT_RETRY_ATTEMPTS?: number;
  EVENT_RETRY_BACKOFF_MS?: number[];
  EVENT_RETRY_UNAVAILABLE_MS?: number;
}

export interface ConsumeOptions {
  /** Deliveries before a failing message is dead-lettered (first try included). */
  maxAttempts?: number;
  /** Backoff before retry n (ms); the last value repeats (the cap). */
  backoffMs?: number[];
  /**
   * How long (ms, from the first failure) a message whose handler found a store unavailable
   * (`isStoreUnavailable`) is retried, however many attempts that takes.
   */
  unavailableMs?: number;
  prefetch?: number;
}

export type EventHandler = (event: EventEnvelope, message: ConsumeMessage) => Promise<void>;

export interface Broker {
  /** Resolves once the broker confirmed the message; rejects after `timeoutMs` without one. */
  publish(event: EventEnvelope, timeoutMs?: number): Promise<void>;
  /**
   * Consumes `queue` (durable, bound to `bindings` on the events exchange). The message is
   * acked only after `handler` resolves; a failure is retried with backoff through
   * `<queue>.retry` and, after `maxAttempts`, dead-lettered to `<queue>.dead`.
   */
  consume(queue: string, bindings: string[], handler: EventHandler, options?: ConsumeOptions): Promise<void>;
  /** Full queue name after the configured prefix. */
  queueName(queue: string): string;
  isConnected(): boolean;
  /** Stops consuming, waits for in-flight handlers, then closes the connection. */
  close(): Promise<void>;
}

/** The arguments every declarer of a consumer queue must use (the Docker definitions too). */
export function queueArguments(exchange: string, queue: string) {
  return {
    main: { "x-dead-letter-exchange": `${exchange}.dlx`, "x-dead-letter-routing-key": queue },
    retry: { "x-dead-letter-exchange": "", "x-dead-letter-routing-key": queue },
  };
}

const ATTEMPT_HEADER = "x-shopstream-attempt";
/** When the message first failed (epoch ms): the store-unavailable retry window counts from it. */
const FIRST_FAILED_HEADER = "x-shopstream-first-failed-at";
/** The headers a re-drive resets, so a re-driven message gets a full retry budget again. */
export const RETRY_HEADERS = [ATTEMPT_HEADER, FIRST_FAILED_HEADER] as const;

export const DEFAULT_RETRY = {
  attempts: 5,
  backoffMs: [500, 2000, 5000, 15_000, 60_000],
  unavailableMs: 30 * 60_000,
};

/** What happens to a message whose handler failed: parked for a retry, or dead-lettered. */
export function retryDecision(
  policy: { maxAttempts: number; backoffMs: number[]; unavailableMs: number },
  failure: {
    attempt: number;
    firstFailedAt: number;
    now: number;
    unavailable: boolean;
    unprocessable: boolean;
  },
): { retry: false } | { retry: true; delayMs: number } {
  if (failure.unprocessable) return { retry: false };
  const withinAttempts = failure.attempt < policy.maxAttempts;
  const withinOutage = failure.unavailable && failure.now - failure.firstFailedAt < policy.unavailableMs;
  if (!withinAttempts && !withinOutage) return { retry: false };
  const { backoffMs } = policy;
  return { retry: true, delayMs: backoffMs[Math.min(failure.attempt - 1, backoffMs.length - 1)] ?? 1000 };
}

/**
 * Thrown by a handler for a message it can never process (its data fails validation): the
 * message is dead-lettered at once instead of being retried `maxAttempts` times.
 */
export class UnprocessableEventError extends Error {
  override name = "UnprocessableEventError";
}

export function connectBroker(config: AmqpConfig, logger: Logger, metrics?: Metrics): Broker {
  const vhost = config.AMQP_VHOST === "/" ? "" : config.AMQP_VHOST;
  const url = new URL(config.AMQP_URL);
  url.username = encodeURIComponent(config.AMQP_USER);
  url.password = encodeURIComponent(config.AMQP_PASSWORD);
  url.pathname = `/${encodeURIComponent(vhost)}`;
  const exchange = config.AMQP_EXCHANGE;
  const dlx = `${exchange}.dlx`;
  // Retries are parked through a topic exchange under the queue's name: a service's user may
  // publish there only under its own queues' names, never through the default exchange.
  const retryExchange = `${exchange}.retry`;
  const declare = config.AMQP_DECLARE_TOPOLOGY ?? true;

  const connection: AmqpConnectionManager = loadAmqp().connect([url.toString()], {
    heartbeatIntervalInSeconds: 10,
    reconnectTimeInSeconds: 1,
    connectionOptions: { timeout: 5000 },
  });
  let lastError = "";
  connection.on("connectFailed", ({ err }) => {
    if (err.message !== lastError) logger.warn({ err: err.message }, "rabbitmq connection failed; retrying");
    lastError = err.message;
  });
  connection.on("disconnect", ({ err }) => logger.warn({ err: err?.message }, "rabbitmq disconnected"));
  connection.on("connect", () => {
    lastError = "";
    logger.info("rabbitmq connected");
  });

  const declareExchanges = async (ch: ConfirmChannel) => {
    if (!declare) {
      // A passive check needs no permission; a missing exchange closes the channel with a 404.
      await ch.checkExchange(exchange);
      return;
    }
    await ch.assertExchange(exchange, "topic", { durable: true });
    await ch.assertExchange(dlx, "direct", { durable: true });
    await ch.assertExchange(retryExchange, "topic", { durable: true });
  };
  const publisher: ChannelWrapper = connection.createChannel({
    name: "publisher",
    confirm: true,
    setup: declareExchanges,
  });

  // What operators watch besides the dead-letter queues: failures by queue and what became of them.
  const failures = metrics?.counter(
    "shopstream_event_failures_total",
    "Consumer failures by queue, by whether a store was unavailable, and what was done",
    ["queue", "reason", "outcome"],
  );
  const consumers: ChannelWrapper[] = [];
  const inFlight = new Set<Promise<void>>();
  let closing = false;

  const queueName = (q: string) => `${config.AMQP_QUEUE_PREFIX}${q}`;
  const service = (logger.bindings() as { service?: string }).service;

  return {
    queueName,
    isConnected: () => connection.isConnected(),

    publish: (event, timeoutMs = 10_000) =>
      // The trace travels in the headers as W3C traceparent (docs/tracing.md).
      tracePublish(exchange, event.type, event.id, async (headers) => {
        const ok = await publisher.publish(exchange, event.type, Buffer.from(JSON.stringify(event)), {
          persistent: true,
          messageId: event.id,
          type: event.type,
          contentType: "application/json",
          timestamp: Math.floor(Date.now() / 1000),
          headers,
          timeout: timeoutMs,
        });
        if (!ok) throw new Error(`broker did not confirm event ${event.id}`);
      }),

    async consume(queue, bindings, handler, options = {}) {
      const name = queueName(queue);
      const policy = {
        maxAttempts: options.maxAttempts ?? config.EVENT_RETRY_ATTEMPTS ?? DEFAULT_RETRY.attempts,
        backoffMs: options.backoffMs ?? config.EVENT_RETRY_BACKOFF_MS ?? DEFAULT_RETRY.backoffMs,
        unavailableMs:
          options.unavailableMs ?? config.EVENT_RETRY_UNAVAILABLE_MS ?? DEFAULT_RETRY.unavailableMs,
      };
      const args = queueArguments(exchange, name);
      // Delivery tags belong to one underlying channel. After a reconnect the broker has already
      // requeued whatever was unacked, and an old tag on the new channel would ack (or nack) a
      // different message, so settling a message from an earlier channel is skipped.
      let generation = 0;
      const channel = connection.createChannel({
        name: `consumer:${name}`,
        confirm: true,
        setup: async (ch: ConfirmChannel) => {
          generation++;
          await declareExchanges(ch);
          if (!declare) {
            await ch.checkQueue(name);
            return;
          }
          await ch.assertQueue(name, { durable: true, arguments: args.main });
          await ch.assertQueue(`${name}.retry`, { durable: true, arguments: args.retry });
          await ch.assertQueue(`${name}.dead`, { durable: true });
          await ch.bindQueue(`${name}.dead`, dlx, name);
          await ch.bindQueue(`${name}.retry`, retryExchange, name);
          for (const key of bindings) await ch.bindQueue(name, exchange, key);
        },
      });
      consumers.push(channel);

      const onMessage = (msg: ConsumeMessage) => {
        const delivered = generation;
        const settle = {
          ack: () => {
            if (delivered === generation) channel.ack(msg);
          },
          nack: (requeue: boolean) => {
            if (delivered === generation) channel.nack(msg, false, requeue);
          },
        };
        if (closing) {
          // Not ours to finish: back to the queue for another consumer.
          settle.nack(true);
          return;
        }
        const work = traceConsume(
          name,
          service,
          msg.properties.headers,
          {
            "messaging.message.id": String(msg.properties.messageId ?? ""),
            "messaging.rabbitmq.destination.routing_key": msg.fields.routingKey,
            "messaging.rabbitmq.message.attempt": Number(msg.properties.headers?.[ATTEMPT_HEADER] ?? 1),
          },
          (span) => handle(msg, settle, span),
        ).finally(() => inFlight.delete(work));
        inFlight.add(work);
      };

      const handle = async (
        msg: ConsumeMessage,
        settle: { ack: () => void; nack: (requeue: boolean) => void },
        span: Span,
      ) => {
        let event: EventEnvelope;
        try {
          event = parseEnvelope(msg.content);
        } catch (err) {
          failed(span, err);
          logger.error({ queue: name, err: (err as Error).message }, "poison message dead-lettered");
          settle.nack(false);
          return;
        }
        const headers = msg.properties.headers ?? {};
        const attempt = Number(headers[ATTEMPT_HEADER] ?? 1);
        try {
          await handler(event, msg);
          settle.ack();
          logger.debug({ queue: name, eventId: event.id, type: event.type, attempt }, "event handled");
        } catch (err) {
          failed(span, err);
          const now = Date.now();
          const firstFailedAt = Number(headers[FIRST_FAILED_HEADER] ?? now);
          const unavailable = isStoreUnavailable(err);
          const unprocessable = err instanceof UnprocessableEventError;
          const decision = retryDecision(policy, { attempt, firstFailedAt, now, unavailable, unprocessable });
          const reason = unprocessable ? "unprocessable" : unavailable ? "store_unavailable" : "error";
          const context = {
            queue: name,
            eventId: event.id,
            type: event.type,
            attempt,
            reason,
            err: (err as Error).message,
          };
          if (!decision.retry) {
            failures?.inc({ queue: name, reason, outcome: "dead_lettered" });
            logger.error(
              { ...context, deadLetterQueue: `${name}.dead` },
              unprocessable
                ? "event cannot be processed; dead-lettered"
                : "event failed for the last time; dead-lettered",
            );
            settle.nack(false);
            return;
          }
          const delay = decision.delayMs;
          failures?.inc({ queue: name, reason, outcome: "retried" });
          logger.warn({ ...context, retryInMs: delay }, "event failed; retrying");
          try {
            await channel.publish(retryExchange, name, msg.content, {
              ...msg.properties,
              headers: { ...headers, [ATTEMPT_HEADER]: attempt + 1, [FIRST_FAILED_HEADER]: firstFailedAt },
              expiration: String(delay),
              persistent: true,
              timeout: 10_000,
            });
            settle.ack();
          } catch {
            // Could not park it for a retry: leave it to the broker to redeliver.
            settle.nack(true);
          }
        }
      };

      await channel.consume(name, onMessage, { prefetch: options.prefetch ?? 10 });
      // Queues and bindings exist once the channel's setup ran; publishers may rely on that.
      await withTimeout(channel.waitForConnect(), 10_000, `rabbitmq queue ${name}`).catch((err: Error) =>
        logger.warn({ err: err.message }, "consumer will start when the broker is reachable"),
      );
    },

    async close() {
      closing = true;
      for (const c of consumers) await c.cancelAll().catch(() => undefined);
      await Promise.allSettled([...inFlight]);
      for (const c of consumers) await c.close().catch(() => undefined);
      await publisher.close().catch(() => undefined);
      await connection.close().catch(() => undefined);
    },
  };
}

function parseEnvelope(content: Buffer): EventEnvelope {
  const value = JSON.parse(content.toString("utf8")) as Partial<EventEnvelope>;
  if (
    !value ||
    typeof value.id !== "string" ||
    typeof value.type !== "string" ||
    typeof value.occurredAt !== "string" ||
    typeof value.data !== "object" ||
    value.data === null
  ) {
    throw new Error("message is not an event envelope {id, type, occurredAt, data}");
  }
  return value as EventEnvelope;
}
