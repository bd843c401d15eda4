import { randomUUID } from "node:crypto";
import type { EventEnvelope } from "@shopstream/runtime";
import amqplib from "amqplib";
import { assertDocumentedEvent, orderData, undocumented } from "../support/event-contract.js";
import { amqpUrl } from "../support/infra.js";

/**
 * Publishes envelopes on a test exchange with publisher confirms, as the services' outboxes do.
 * `publish` takes only events docs/asyncapi.json describes, so a consumer is tested with what its
 * publishers send; `publishUndocumented` and `publishRaw` are for what they must refuse.
 */
export async function openPublisher(exchange: string) {
  const connection = await amqplib.connect(amqpUrl());
  const channel = await connection.createConfirmChannel();
  const send = async (events: EventEnvelope<unknown>[], options: object) => {
    for (const event of events) {
      channel.publish(exchange, event.type, Buffer.from(JSON.stringify(event)), {
        persistent: true,
        messageId: event.id,
        contentType: "application/json",
        ...options,
      });
    }
    await channel.waitForConfirms();
  };
  return {
    async publish(...events: EventEnvelope<unknown>[]) {
      for (const event of events) assertDocumentedEvent(event.type, event);
      await send(events, {});
    },
    /** Events a consumer must refuse or must not leak from (marked so the tap lets them pass). */
    async publishUndocumented(...events: EventEnvelope<unknown>[]) {
      await send(events, undocumented);
    },
    /** A raw body, for messages that are not even envelopes. */
    async publishRaw(routingKey: string, body: string) {
      channel.publish(exchange, routingKey, Buffer.from(body), { persistent: true, ...undocumented });
      await channel.waitForConfirms();
    },
    channel,
    async close() {
      await channel.close();
      await connection.close();
    },
  };
}

export function envelope<T>(type: string, data: T, occurredAt = new Date()): EventEnvelope<T> {
  return { id: randomUUID(), type, occurredAt: occurredAt.toISOString(), data };
}

/** An `order.*` event as the order service publishes it (docs/service-contracts.md). */
export function orderEvent(
  type: string,
  userId: string,
  status: string,
  extra: Record<string, unknown> = {},
) {
  const data = orderData(status, {
    orderId: randomUUID(),
    userId,
    items: [{ productId: randomUUID(), quantity: 1 }],
  });
  return envelope(type, { ...data, ...extra });
}
