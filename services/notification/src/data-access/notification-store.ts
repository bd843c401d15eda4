import type { Redis } from "@shopstream/runtime";
import type { Notification } from "../domain/notification.js";
import type { NotificationStore } from "../domain/ports.js";

/**
 * Claims the event id and stores the notification in one atomic step, so a redelivered event
 * (or the same event consumed by two replicas at once) is stored once: SET NX on the event's
 * marker, then LPUSH, LTRIM and EXPIRE on the user's history, or nothing at all.
 */
const RECORD_ONCE = `
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return 0 end
redis.call('LPUSH', KEYS[2], ARGV[2])
redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[3]) - 1)
redis.call('EXPIRE', KEYS[2], ARGV[4])
return 1
`;

export interface NotificationStoreOptions {
  historyLimit: number;
  historyTtlSeconds: number;
  dedupTtlSeconds: number;
}

/** Per-user notification history in Redis: a capped list, newest first, with a TTL. */
export class RedisNotificationStore implements NotificationStore {
  constructor(
    private readonly redis: Redis,
    private readonly options: NotificationStoreOptions,
  ) {}

  /** Stores the notification unless this event was already recorded; true when it is new. */
  async recordOnce(eventId: string, userId: string, notification: Notification): Promise<boolean> {
    const result = await this.redis.client.eval(RECORD_ONCE, {
      keys: [this.redis.key("notification", "event", eventId), this.historyKey(userId)],
      arguments: [
        String(this.options.dedupTtlSeconds),
        JSON.stringify(notification),
        String(this.options.historyLimit),
        String(this.options.historyTtlSeconds),
      ],
    });
    return Number(result) === 1;
  }

  /** The user's history, newest first. */
  async history(userId: string): Promise<Notification[]> {
    const raw = await this.redis.client.lRange(this.historyKey(userId), 0, this.options.historyLimit - 1);
    return raw.map((item) => JSON.parse(item) as Notification);
  }

  private historyKey(userId: string) {
    return this.redis.key("notification", "history", userId);
  }
}
