import { domainEvent, type EventEnvelope, type EventType } from "@shopstream/runtime";

export const PRODUCT_CHANGED = "product.changed" satisfies EventType;
export const PRODUCT_DELETED = "product.deleted" satisfies EventType;
export const ORDER_PAYMENT_FAILED = "order.payment_failed";
export const ORDER_CANCELLED = "order.cancelled";

export interface ProductEventData {
  productId: string;
}

export const productChanged = (productId: string): EventEnvelope<ProductEventData> =>
  domainEvent("product.changed", { productId });

export const productDeleted = (productId: string): EventEnvelope<ProductEventData> =>
  domainEvent("product.deleted", { productId });
