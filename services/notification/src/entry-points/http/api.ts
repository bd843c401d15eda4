import { problem, type ServiceApi } from "@shopstream/runtime";
import { z } from "zod";
import { historyQuery } from "./notification-routes.js";

/** One push, as the WebSocket sends it and the history keeps it (`Notification`). */
export const notificationSchema = z.object({
  id: z.string(),
  type: z.string().describe("The event that caused it, e.g. `order.paid`"),
  orderId: z.string(),
  status: z.string().describe("The order's status after the event"),
  at: z.iso.datetime({ offset: true }),
});

export const notificationApi: ServiceApi = {
  service: "notification",
  description:
    "Order updates: the history over HTTP, live pushes over the WebSocket `GET /api/notifications/ws` (see `x-websocket`)",
  schemas: { Notification: notificationSchema },
  operations: [
    {
      method: "get",
      path: "/notifications",
      operationId: "listNotifications",
      summary: "Your notification history, newest first",
      tag: "notifications",
      access: "user",
      query: historyQuery,
      responses: {
        200: { description: "The history", schema: z.object({ items: z.array(notificationSchema) }) },
        503: problem("The history cannot be read right now"),
      },
    },
  ],
};
