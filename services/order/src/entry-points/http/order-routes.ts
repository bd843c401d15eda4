import {
  authenticate,
  badRequest,
  currentUser,
  parse,
  requireRole,
  type TokenVerifier,
  validationFailed,
} from "@shopstream/runtime";
import type { Express, Request, Response } from "express";
import { z } from "zod";
import { type CheckoutDeps, checkout, requestFingerprint } from "../../domain/checkout.js";
import { ORDER_STATUSES, orderJson, PAYMENT_TOKENS, type PaymentToken } from "../../domain/order.js";
import {
  cancelOrder,
  getOrder,
  listOrders,
  type OrderDeps,
  setFulfilmentStatus,
} from "../../domain/order-actions.js";

export const checkoutBody = z.strictObject({ paymentToken: z.string().min(1).max(100) });
export const listQuery = z.object({
  status: z.enum(ORDER_STATUSES).optional(),
  userId: z.string().min(1).max(64).optional(),
  page: z.coerce.number().int().min(1).max(100_000).default(1),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});
export const statusBody = z.strictObject({ status: z.enum(["shipped", "delivered"]) });

const MAX_KEY_LENGTH = 200;

function idempotencyKey(req: Request): string {
  const key = req.get("idempotency-key");
  if (key === undefined || key.length === 0) {
    throw badRequest("The Idempotency-Key header is required: send a unique value per checkout attempt");
  }
  if (key.length > MAX_KEY_LENGTH) {
    throw badRequest(`The Idempotency-Key header is longer than ${MAX_KEY_LENGTH} characters`);
  }
  return key;
}

function paymentToken(body: unknown): PaymentToken {
  const { paymentToken } = parse(checkoutBody, body ?? {});
  if (!(PAYMENT_TOKENS as readonly string[]).includes(paymentToken)) {
    throw validationFailed([
      { path: "paymentToken", message: `unknown payment token; use one of ${PAYMENT_TOKENS.join(", ")}` },
    ]);
  }
  return paymentToken as PaymentToken;
}

/** `/orders` routes: adapt HTTP to the use cases and validate; nothing else. */
export function orderRoutes(deps: { checkout: CheckoutDeps; orders: OrderDeps; verifier: TokenVerifier }) {
  const signedIn = authenticate(deps.verifier);
  return (app: Express) => {
    app.post("/orders", signedIn, async (req: Request, res: Response) => {
      const user = currentUser(res);
      const key = idempotencyKey(req);
      const token = paymentToken(req.body);
      const result = await checkout(deps.checkout, {
        userId: user.id,
        idempotencyKey: key,
        paymentToken: token,
        fingerprint: requestFingerprint("POST", "/orders", user.id, req.body),
        requestId: res.locals.requestId as string | undefined,
        authorization: req.get("authorization"),
      });
      if (result.replayed) res.setHeader("Idempotent-Replayed", "true");
      res.status(result.status).json(orderJson(result.order));
    });

    app.get("/orders", signedIn, async (req: Request, res: Response) => {
      const query = parse(listQuery, req.query);
      const { items, total } = await listOrders(deps.orders, currentUser(res), query);
      res.json({ items: items.map(orderJson), total, page: query.page, limit: query.limit });
    });

    app.get("/orders/:id", signedIn, async (req: Request, res: Response) => {
      const order = await getOrder(deps.orders, currentUser(res), String(req.params.id));
      res.json(orderJson(order));
    });

    app.post("/orders/:id/cancel", signedIn, async (req: Request, res: Response) => {
      const order = await cancelOrder(deps.orders, currentUser(res), String(req.params.id));
      res.json(orderJson(order));
    });

    app.put("/orders/:id/status", signedIn, requireRole("admin"), async (req: Request, res: Response) => {
      const { status } = parse(statusBody, req.body ?? {});
      const order = await setFulfilmentStatus(deps.orders, String(req.params.id), status);
      res.json(orderJson(order));
    });
  };
}
