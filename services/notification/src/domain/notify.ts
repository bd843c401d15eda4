import type { EventEnvelope, Logger } from "@shopstream/runtime";
import { notificationFromEvent } from "./notification.js";
import type { NotificationStore, PushChannel } from "./ports.js";

export interface NotifyDeps {
  store: NotificationStore;
  channel: PushChannel;
  logger: Logger;
  countEvent(outcome: "notified" | "duplicate"): void;
}

/**
 * One order or payment event: stored in the user's history once (by event id), pushed to the
 * user's open connections on every replica, and "e-mailed" (logged). The push is best effort:
 * the event is already in the history, so a failed publish is logged rather than retried, and a
 * client catches up with `GET /notifications` when it reconnects.
 */
export async function notifyUser(deps: NotifyDeps, event: EventEnvelope): Promise<void> {
  const { userId, notification } = notificationFromEvent(event);
  const fresh = await deps.store.recordOnce(event.id, userId, notification);
  if (!fresh) {
    deps.countEvent("duplicate");
    deps.logger.debug({ eventId: event.id, type: event.type }, "event already notified; skipped");
    return;
  }
  deps.countEvent("notified");
  try {
    await deps.channel.publish(userId, notification);
  } catch (err) {
    deps.logger.warn(
      { eventId: event.id, type: event.type, userId, err: (err as Error).message },
      "could not push the notification; it stays in the history",
    );
  }
  // The simulated e-mail: who and what, never an address (the service does not know one).
  deps.logger.info(
    {
      eventId: event.id,
      type: event.type,
      orderId: notification.orderId,
      userId,
      status: notification.status,
    },
    "email sent",
  );
}
