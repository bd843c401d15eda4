import type { Logger, Redis, RedisClient } from "@shopstream/runtime";
import type { Notification } from "../domain/notification.js";
import type { PushChannel } from "../domain/ports.js";

interface PushMessage {
  userId: string;
  notification: Notification;
}

/**
 * Fans notifications out to every replica over one Redis pub/sub channel per deployment (the
 * channel is named under the deployment's key prefix). A replica that is away while a message
 * is published misses it; the history is what a client catches up from.
 */
export async function openPushChannel(
  redis: Redis,
  logger: Logger,
  deliver: (userId: string, notification: Notification) => void,
): Promise<PushChannel> {
  const channel = redis.key("notification", "push");
  const subscriber: RedisClient = await redis.duplicate();
  await subscriber.subscribe(channel, (raw) => {
    let message: PushMessage;
    try {
      message = JSON.parse(raw) as PushMessage;
    } catch {
      logger.warn({ channel }, "ignored a malformed push message");
      return;
    }
    deliver(message.userId, message.notification);
  });
  return {
    async publish(userId, notification) {
      const message: PushMessage = { userId, notification };
      await redis.client.publish(channel, JSON.stringify(message));
    },
    isReady: () => subscriber.isReady,
  };
}
