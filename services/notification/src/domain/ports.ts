import type { Notification } from "./notification.js";

/** Each user's notification history (Redis, in data-access/). */
export interface NotificationStore {
  /** Stores the notification unless this event was already recorded; true when it is new. */
  recordOnce(eventId: string, userId: string, notification: Notification): Promise<boolean>;
  /** The user's history, newest first. */
  history(userId: string): Promise<Notification[]>;
}

/** The fan-out to every replica's open sockets (Redis pub/sub, in data-access/). */
export interface PushChannel {
  /** Hands the notification to every replica, each of which delivers it to its own sockets. */
  publish(userId: string, notification: Notification): Promise<void>;
  isReady(): boolean;
}
