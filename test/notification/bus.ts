import { randomUUID } from "node:crypto";
import type { EventEnvelope } from "@shopstream/runtime";
import amqplib from "amqplib";
import { amqpUrl } from "../support/infra.js";

/** Publishes envelopes on a test exchange with publisher confirms, as the services' outboxes do. */
export async function openPublisher(exchange: string) {
  const connection = await amqplib.connect(amqpUrl());
  const channel = await connection.createConfirmChannel();
  return {
    async publish(...events: EventEnvelope<unknown>[]) {
      for (const event of events) {
        channel.publish(exchange, event.type, Buffer.from(JSON.stringify(event)), {
          persistent: true,
          messageId: event.id,
          contentType: "application/json",
        });
      }
      await channel.waitForConfirms();
    },
    /** A raw body, for messages that are not even envelopes. */
    async publishRaw(routingKey: string, body: string) {
      channel.publish(exchange, routingKey, Buffer.from(body), { persistent: true });
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
  return envelope(type, {
    orderId: randomUUID(),
    userId,
    status,
    totalCents: 2500,
    currency: "EUR",
    items: [{ productId: randomUUID(), name: "Desk lamp", unitPriceCents: 2500, quantity: 1 }],
    ...extra,
  });
}
