import { type Logger, type Redis, withTimeout } from "@shopstream/runtime";
import { RateLimiterRedis, RateLimiterRes } from "rate-limiter-flexible";
import type { BucketPolicy, BucketState, RateLimits } from "../domain/ports.js";
import type { Bucket } from "../domain/routes.js";

/**
 * Fixed-window counters in Redis (rate-limiter-flexible), shared by every gateway replica. When
 * Redis is away or slow the gateway fails open: it serves without limits and warns, because
 * refusing every request while a cache is down would turn a degraded limit into an outage.
 */
export function createRateLimits(options: {
  redis: Redis;
  policies: Record<Bucket, BucketPolicy>;
  timeoutMs: number;
  logger: Logger;
  onFailOpen?: () => void;
}): RateLimits {
  const { redis, policies, logger } = options;
  const limiters = Object.fromEntries(
    Object.entries(policies).map(([name, policy]) => [
      name,
      new RateLimiterRedis({
        storeClient: redis.client,
        useRedisPackage: true,
        rejectIfRedisNotReady: true,
        keyPrefix: redis.key("ratelimit", name),
        points: policy.limit,
        duration: policy.windowSeconds,
      }),
    ]),
  ) as Record<Bucket, RateLimiterRedis>;

  let lastWarning = 0;
  const warn = (err: unknown) => {
    options.onFailOpen?.();
    // One line per half minute is enough to page someone; one per request would drown the logs.
    if (Date.now() - lastWarning < 30_000) return;
    lastWarning = Date.now();
    logger.warn({ err: (err as Error).message }, "rate limits unavailable (Redis); serving without limits");
  };

  const state = (name: Bucket, res: RateLimiterRes): BucketState => ({
    name,
    ...policies[name],
    remaining: Math.max(0, res.remainingPoints),
    resetSeconds: Math.max(0, Math.ceil(res.msBeforeNext / 1000)),
  });

  return {
    policies,
    async take(draws) {
      const outcomes = await Promise.allSettled(
        draws.map(({ bucket, key }) =>
          withTimeout(limiters[bucket].consume(key), options.timeoutMs, "rate limit lookup"),
        ),
      );
      const buckets: BucketState[] = [];
      let retryAfterSeconds = 0;
      for (const [i, outcome] of outcomes.entries()) {
        const name = draws[i]!.bucket;
        if (outcome.status === "fulfilled") {
          buckets.push(state(name, outcome.value));
        } else if (outcome.reason instanceof RateLimiterRes) {
          const s = state(name, outcome.reason);
          buckets.push(s);
          retryAfterSeconds = Math.max(retryAfterSeconds, s.resetSeconds, 1);
        } else {
          warn(outcome.reason);
          return { kind: "unknown" };
        }
      }
      return retryAfterSeconds > 0
        ? { kind: "limited", buckets, retryAfterSeconds }
        : { kind: "allowed", buckets };
    },
  };
}
