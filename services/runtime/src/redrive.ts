import { randomUUID } from "node:crypto";
import amqplib from "amqplib";
import { type AmqpConfig, RETRY_HEADERS } from "./messaging.js";

/** Marks a message with the run that re-drove it, so one run never takes a message twice. */
const REDRIVE_HEADER = "x-shopstream-redrive";

export interface RedriveResult {
  queue: string;
  /** Dead letters when the run started. */
  found: number;
  /** Messages sent back to the consumer queue. */
  moved: number;
}

/**
 * Sends the dead letters of consumer queue `queue` back to it, each with a fresh retry budget.
 *
 * Runs as the owning service's broker user, with its env: it reads `<queue>.dead` and publishes
 * through the retry exchange under the queue's name with an expiration of 0, so the message
 * passes `<queue>.retry` and is dead-lettered straight back to `<queue>` (the route every retry
 * takes; nobody may publish to the default exchange). A message is acked in the dead-letter
 * queue only after the broker confirmed its copy, so a run that dies half-way loses nothing and
 * at worst sends a message twice; consumers apply each event id once, so running it twice, or two
 * runs at once, is safe. A run moves at most the messages present when it started, so a message
 * that fails again at once is not cycled.
 */
export async function redriveDeadLetters(config: AmqpConfig, queue: string): Promise<RedriveResult> {
  const vhost = config.AMQP_VHOST === "/" ? "" : config.AMQP_VHOST;
  const url = new URL(config.AMQP_URL);
  url.username = encodeURIComponent(config.AMQP_USER);
  url.password = encodeURIComponent(config.AMQP_PASSWORD);
  url.pathname = `/${encodeURIComponent(vhost)}`;
  const target = `${config.AMQP_QUEUE_PREFIX}${queue}`;
  const dead = `${target}.dead`;
  const retryExchange = `${config.AMQP_EXCHANGE}.retry`;
  const run = randomUUID();

  const conn = await amqplib.connect(url.toString());
  // A refusal (no such queue, no permission) rejects the call that caused it; the events repeat it.
  conn.on("error", () => undefined);
  try {
    const ch = await conn.createConfirmChannel();
    ch.on("error", () => undefined);
    const { messageCount: found } = await ch.checkQueue(dead);
    let moved = 0;
    for (let i = 0; i < found; i++) {
      const msg = await ch.get(dead, { noAck: false });
      if (!msg) break;
      const headers: Record<string, unknown> = { ...msg.properties.headers };
      if (headers[REDRIVE_HEADER] === run) {
        // Came back dead during this run: leave it for the operator.
        ch.nack(msg, false, true);
        break;
      }
      for (const h of RETRY_HEADERS) delete headers[h];
      headers[REDRIVE_HEADER] = run;
      ch.publish(retryExchange, target, msg.content, {
        ...msg.properties,
        headers,
        expiration: "0",
        persistent: true,
      });
      await ch.waitForConfirms();
      ch.ack(msg);
      moved++;
    }
    await ch.close();
    return { queue: target, found, moved };
  } finally {
    await conn.close().catch(() => undefined);
  }
}
