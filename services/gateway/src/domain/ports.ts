import type { Bucket } from "./routes.js";

export interface BucketPolicy {
  limit: number;
  windowSeconds: number;
}

/** Where one bucket stands after this request was counted. */
export interface BucketState extends BucketPolicy {
  name: Bucket;
  remaining: number;
  /** Seconds until the window restarts. */
  resetSeconds: number;
}

export type RateDecision =
  | { kind: "allowed"; buckets: BucketState[] }
  | { kind: "limited"; buckets: BucketState[]; retryAfterSeconds: number }
  /** The counters could not be reached: the caller lets the request through (fail open). */
  | { kind: "unknown" };

/** Request counters per bucket, shared by every gateway replica (Redis, in data-access/). */
export interface RateLimits {
  /** Counts one request against each named bucket under its key. */
  take(draws: { bucket: Bucket; key: string }[]): Promise<RateDecision>;
  policies: Record<Bucket, BucketPolicy>;
}
