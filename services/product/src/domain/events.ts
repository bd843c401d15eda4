import { createEvent, type EventEnvelope } from "@shopstream/runtime";

export const PRODUCT_CHANGED = "product.changed";
export const PRODUCT_DELETED = "product.deleted";
export const ORDER_PAYMENT_FAILED = "order.payment_failed";
export const ORDER_CANCELLED = "order.cancelled";

export interface ProductEventData {
  productId: string;
}

export const productChanged = (productId: string): EventEnvelope<ProductEventData> =>
  createEvent(PRODUCT_CHANGED, { productId });

export const productDeleted = (productId: string): EventEnvelope<ProductEventData> =>
  createEvent(PRODUCT_DELETED, { productId });
