import { problem, type ServiceApi } from "@shopstream/runtime";
import { z } from "zod";
import { CLIENT_EVENT_TYPES, CLIENT_EVENTS } from "../../domain/client-events.js";

/** The closed set of client events, each schema exactly as `parseClientEvent` applies it. */
const clientEventSchema = z.discriminatedUnion("type", [
  CLIENT_EVENTS["product.viewed"],
  CLIENT_EVENTS["search.performed"],
  CLIENT_EVENTS["checkout.started"],
  CLIENT_EVENTS["cart.item_added"],
]);

export const analyticsApi: ServiceApi = {
  service: "analytics",
  description: "Client events (page views, searches, checkout starts) for the business metrics",
  schemas: { ClientEvent: clientEventSchema },
  operations: [
    {
      method: "post",
      path: "/analytics/events",
      operationId: "recordClientEvent",
      summary: "Report a client event",
      description: "The access token is optional; with one, the event is counted for the user.",
      tag: "analytics",
      access: "optional",
      body: { schema: clientEventSchema, required: true },
      responses: {
        202: {
          description: "Recorded",
          schema: z.object({ accepted: z.literal(true), type: z.enum(CLIENT_EVENT_TYPES) }),
        },
        503: problem("Events cannot be recorded right now"),
      },
    },
  ],
};
