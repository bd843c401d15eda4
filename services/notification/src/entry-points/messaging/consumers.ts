import type { Broker } from "@shopstream/runtime";
import { type NotifyDeps, notifyUser } from "../../domain/notify.js";

/** `notification.events` in MESSAGING (infra/src/model/constants.ts); a test keeps them equal. */
export const NOTIFICATION_EVENTS_QUEUE = {
  name: "notification.events",
  bindings: ["order.*", "payment.*"],
};

export async function consumeNotificationEvents(broker: Broker, deps: NotifyDeps): Promise<void> {
  await broker.consume(NOTIFICATION_EVENTS_QUEUE.name, NOTIFICATION_EVENTS_QUEUE.bindings, (event) =>
    notifyUser(deps, event),
  );
}
