import { parse, validationFailed } from "@shopstream/runtime";
import { z } from "zod";
import type { Increment } from "./increments.js";

const productId = z.string().min(1).max(64);

/** The closed set of events a client (the storefront) may report, each with a strict schema. */
export const CLIENT_EVENTS = {
  "product.viewed": z.strictObject({ type: z.literal("product.viewed"), productId }),
  "search.performed": z.strictObject({
    type: z.literal("search.performed"),
    q: z.string().max(200),
    results: z.number().int().min(0).max(1_000_000),
  }),
  "checkout.started": z.strictObject({ type: z.literal("checkout.started") }),
  "cart.item_added": z.strictObject({
    type: z.literal("cart.item_added"),
    productId,
    quantity: z.number().int().min(1).max(1000),
  }),
} as const;

export type ClientEventType = keyof typeof CLIENT_EVENTS;
export const CLIENT_EVENT_TYPES = Object.keys(CLIENT_EVENTS) as ClientEventType[];

/** Validates a client event; an unknown type or any wrong, missing or extra field is a 400. */
export function parseClientEvent(body: unknown): { type: ClientEventType } {
  const { type } = parse(z.object({ type: z.string().max(100) }), body ?? {});
  if (!Object.hasOwn(CLIENT_EVENTS, type)) {
    throw validationFailed([
      { path: "type", message: `unknown event type; use one of ${CLIENT_EVENT_TYPES.join(", ")}` },
    ]);
  }
  return parse(CLIENT_EVENTS[type as ClientEventType], body);
}

/**
 * A client event counts only in `events_total{source="client"}`. The business counters
 * (orders, revenue, cart additions) move on the services' own events: anyone can post a client
 * event, so it must not be able to inflate them.
 */
export function clientEventIncrements(type: ClientEventType): Increment[] {
  return [{ metric: "events_total", labels: { type, source: "client" }, by: 1 }];
}
