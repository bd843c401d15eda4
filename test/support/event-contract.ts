/**
 * Checks events against the AsyncAPI document (docs/asyncapi.json): the routing key is a
 * documented channel and the message validates against its payload schema (ajv, JSON Schema
 * draft-07, AsyncAPI's default schema format). The consumers' tests publish through
 * `openPublisher`, which refuses an undocumented event, and every test platform taps its exchange
 * and fails at stop when anything published there is not documented (`tapEvents`). A message a
 * test publishes on purpose to see a consumer refuse it carries the `undocumented` header.
 */
import { readFileSync } from "node:fs";
import { Ajv, type ValidateFunction } from "ajv";
import addFormats from "ajv-formats";
import amqplib from "amqplib";
import { amqpUrl } from "./infra.js";

// biome-ignore lint/suspicious/noExplicitAny: the document is JSON
export const ASYNCAPI_DOCUMENT: any = JSON.parse(
  readFileSync(new URL("../../docs/asyncapi.json", import.meta.url), "utf8"),
);

const ajv = new Ajv({ strict: false, allErrors: true });
addFormats.default(ajv);
const validators = new Map<string, ValidateFunction>(
  Object.entries(ASYNCAPI_DOCUMENT.components.messages).map(([key, message]) => [
    key,
    // biome-ignore lint/suspicious/noExplicitAny: the document is JSON
    ajv.compile((message as any).payload),
  ]),
);

/** The header of a message a test publishes undocumented on purpose: the tap lets it pass. */
export const UNDOCUMENTED_HEADER = "x-test-undocumented";
/** Publish options for such a message. */
export const undocumented = { headers: { [UNDOCUMENTED_HEADER]: "1" } };

export interface OrderLine {
  productId: string;
  quantity: number;
  name?: string;
  unitPriceCents?: number;
}

/** The `data` of an `order.<status>` event as the order service sends it, from the lines given. */
export function orderData(
  status: string,
  order: { orderId: string; userId: string; items: OrderLine[] },
): Record<string, unknown> {
  const items = order.items.map((l) => ({
    productId: l.productId,
    name: l.name ?? "Desk lamp",
    unitPriceCents: l.unitPriceCents ?? 2500,
    quantity: l.quantity,
  }));
  return {
    orderId: order.orderId,
    userId: order.userId,
    status,
    items,
    totalCents: items.reduce((sum, l) => sum + l.unitPriceCents * l.quantity, 0),
    currency: "EUR",
    ...(status === "pending" ? { paymentToken: "tok_visa" } : {}),
  };
}

/** What is wrong with `body` published as `routingKey`, by the document; empty when nothing. */
export function eventProblems(routingKey: string, body: unknown): string[] {
  const validate = validators.get(routingKey);
  if (!validate) return [`${routingKey} is not an event of docs/asyncapi.json`];
  if (validate(body)) return [];
  return (validate.errors ?? []).map((e) => `${routingKey}: ${e.instancePath || "/"} ${e.message}`);
}

export function assertDocumentedEvent(routingKey: string, body: unknown): void {
  const problems = eventProblems(routingKey, body);
  if (problems.length > 0)
    throw new Error(`undocumented event (docs/asyncapi.json):\n  ${problems.join("\n  ")}`);
}

/**
 * Binds a queue of its own to every routing key of `exchange` and checks each message published
 * there against the document. `problems()` lists what was wrong so far.
 */
export async function tapEvents(exchange: string, vhost = "/") {
  const url = new URL(amqpUrl());
  if (vhost !== "/") url.pathname = `/${encodeURIComponent(vhost)}`;
  const connection = await amqplib.connect(url.toString());
  const channel = await connection.createChannel();
  await channel.assertExchange(exchange, "topic", { durable: true });
  const { queue } = await channel.assertQueue("", { exclusive: true, autoDelete: true });
  await channel.bindQueue(queue, exchange, "#");
  const problems: string[] = [];
  let seen = 0;
  await channel.consume(
    queue,
    (msg) => {
      if (!msg) return;
      seen++;
      if (msg.properties.headers?.[UNDOCUMENTED_HEADER]) return;
      let body: unknown;
      try {
        body = JSON.parse(msg.content.toString("utf8"));
      } catch {
        problems.push(`${msg.fields.routingKey}: not JSON`);
        return;
      }
      problems.push(...eventProblems(msg.fields.routingKey, body));
    },
    { noAck: true },
  );
  return {
    problems: () => [...problems],
    seen: () => seen,
    async close() {
      await channel.close().catch(() => undefined);
      await connection.close().catch(() => undefined);
    },
  };
}
