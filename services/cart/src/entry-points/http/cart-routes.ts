import {
  authenticate,
  currentUser,
  HttpError,
  notFound,
  parse,
  type TokenVerifier,
} from "@shopstream/runtime";
import type { Express, Request, RequestHandler, Response } from "express";
import type { Cart } from "../../domain/cart.js";
import { addItemSchema, checkoutSchema, setQuantitySchema, uuid } from "./schemas.js";

const requireJson: RequestHandler = (req, _res, next) => {
  if (!req.is("application/json")) {
    return next(new HttpError(415, "Unsupported Media Type", "Send the body as application/json"));
  }
  next();
};

/** A path id that is not a UUID names nothing: a 404, like any other unknown id. */
function idParam(req: Request, name: string, what: string): string {
  const id = uuid.safeParse(req.params[name]);
  if (!id.success) throw notFound(`There is no ${what} ${String(req.params[name]).slice(0, 100)}`);
  return id.data;
}

const ctxOf = (res: Response) => ({ requestId: res.locals.requestId as string | undefined });

export function cartRoutes(app: Express, deps: { cart: Cart; verifier: TokenVerifier }): void {
  const { cart } = deps;
  const signedIn = authenticate(deps.verifier);

  app.get("/cart", signedIn, async (_req, res) => {
    res.json(await cart.view(currentUser(res).id, ctxOf(res)));
  });

  app.post("/cart/items", signedIn, requireJson, async (req, res) => {
    const { productId, quantity } = parse(addItemSchema, req.body);
    const { isNewLine, cart: view } = await cart.addItem(
      currentUser(res).id,
      productId,
      quantity,
      ctxOf(res),
    );
    res.status(isNewLine ? 201 : 200).json(view);
  });

  app.patch("/cart/items/:productId", signedIn, requireJson, async (req, res) => {
    const productId = idParam(req, "productId", "product");
    const { quantity } = parse(setQuantitySchema, req.body);
    res.json(await cart.setQuantity(currentUser(res).id, productId, quantity, ctxOf(res)));
  });

  app.delete("/cart/items/:productId", signedIn, async (req, res) => {
    const productId = idParam(req, "productId", "product");
    res.json(await cart.removeItem(currentUser(res).id, productId, ctxOf(res)));
  });

  app.delete("/cart", signedIn, async (_req, res) => {
    await cart.clear(currentUser(res).id);
    res.status(204).end();
  });

  // Service to service only (the gateway never forwards /internal/): the order service reads the
  // lines it checks out; product prices them when it reserves them.
  app.get("/internal/carts/:userId", async (req, res) => {
    res.json({ items: await cart.linesToOrder(idParam(req, "userId", "user")) });
  });

  // The order service, right after a checkout committed: the order's quantities leave the cart
  // at once, once per order id (a repeat, or the order.created consumer later, changes nothing).
  app.post("/internal/carts/:userId/checkouts", requireJson, async (req, res) => {
    const userId = idParam(req, "userId", "user");
    const { orderId, items } = parse(checkoutSchema, req.body);
    const applied = await cart.removeOrdered(userId, orderId, items);
    res.json({ orderId, applied });
  });
}
