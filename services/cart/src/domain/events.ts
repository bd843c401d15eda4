import type { EventType } from "@shopstream/runtime";
/** Events the cart publishes and consumes (docs/service-contracts.md). */
export const CART_ITEM_ADDED = "cart.item_added" satisfies EventType;
export const ORDER_CREATED = "order.created" satisfies EventType;
