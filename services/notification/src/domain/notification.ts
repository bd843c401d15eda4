import { type EventEnvelope, parseEventData } from "@shopstream/runtime";
import { z } from "zod";

/**
 * What a signed-in user is told about one of their orders, over the WebSocket and in the
 * history. `id` is the event's id, so a client that catches up from the history after a
 * reconnect can drop what it already received live.
 */
export interface Notification {
  id: string;
  type: string;
  orderId: string;
  status: string;
  at: string;
}

const id = z.string().min(1).max(64);
// Other members of the event (items, totals, payment token...) are dropped: they never reach
// a client nor a log.
const eventData = z.object({
  orderId: id,
  userId: id,
  status: z.string().min(1).max(40).optional(),
});

/**
 * The notification for an `order.*` or `payment.*` event and the user it is for. `order.*`
 * events carry the order's new status; a payment event's status is its outcome (`completed`,
 * `failed`). Invalid data is an UnprocessableEventError: the event is dead-lettered.
 */
export function notificationFromEvent(event: EventEnvelope): { userId: string; notification: Notification } {
  const data = parseEventData(eventData, event);
  const at = Number.isNaN(Date.parse(event.occurredAt))
    ? new Date().toISOString()
    : new Date(event.occurredAt).toISOString();
  return {
    userId: data.userId,
    notification: {
      id: event.id,
      type: event.type,
      orderId: data.orderId,
      status: data.status ?? event.type.slice(event.type.indexOf(".") + 1),
      at,
    },
  };
}

/** The message pushed to a client: the `{type, orderId, status, at}` of docs/architecture.md plus the event id. */
export const toMessage = (n: Notification) =>
  JSON.stringify({ id: n.id, type: n.type, orderId: n.orderId, status: n.status, at: n.at });
