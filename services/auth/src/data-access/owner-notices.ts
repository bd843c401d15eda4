import type { Logger, Redis } from "@shopstream/runtime";
import type { OwnerNotice, OwnerNotices } from "../domain/ports.js";

export interface OwnerNoticeOptions {
  /** At most one notice of a kind per account in this time: an attacker cannot flood an inbox. */
  minIntervalSeconds: number;
  logger: Logger;
  sent: { inc(labels: { notice: string }): void };
}

/**
 * E-mails to an account's owner about its security. The platform has no mail transport yet, so
 * the e-mail is simulated the way the notification service simulates its order e-mails: one
 * `email sent` log line naming the user id and what happened, never the address. A real mailer
 * replaces `deliver` and nothing else.
 *
 * `owner-notice:<kind>:<user id>` (SET NX with a TTL) keeps each kind to one per interval across
 * replicas.
 */
export function createOwnerNotices(redis: Redis, options: OwnerNoticeOptions): OwnerNotices {
  const { logger } = options;
  const deliver = (userId: string, notice: OwnerNotice) => {
    const { kind, ...details } = notice;
    logger.info({ userId, notice: kind, ...details }, "email sent");
    options.sent.inc({ notice: kind });
  };

  return {
    async send(user, notice) {
      try {
        const first = await redis.client.set(redis.key("owner-notice", notice.kind, user.id), "1", {
          condition: "NX",
          expiration: { type: "EX", value: options.minIntervalSeconds },
        });
        if (first === null) return;
        deliver(user.id, notice);
      } catch (err) {
        // A notice is worth a warning when it fails, never a failed request.
        logger.warn(
          { userId: user.id, notice: notice.kind, err: (err as Error).message },
          "could not send a notice",
        );
      }
    },
  };
}
