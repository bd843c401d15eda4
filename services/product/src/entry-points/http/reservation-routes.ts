import { parse } from "@shopstream/runtime";
import type { Express } from "express";
import type { Reservations } from "../../domain/reservations.js";
import { requireJson } from "./product-routes.js";
import { orderIdParams, reservationSchema } from "./schemas.js";

/** Service-to-service only: the gateway never forwards `/internal/*`. */
export function reservationRoutes(app: Express, deps: { reservations: Reservations }): void {
  app.post("/internal/reservations", requireJson, async (req, res) => {
    const { created, reservation } = await deps.reservations.reserve(parse(reservationSchema, req.body));
    res.status(created ? 201 : 200).json(reservation);
  });

  app.post("/internal/reservations/:orderId/release", async (req, res) => {
    const { orderId } = parse(orderIdParams, req.params);
    res.json({ orderId, released: await deps.reservations.release(orderId) });
  });
}
