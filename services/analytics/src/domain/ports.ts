import type { Increment } from "./increments.js";

/**
 * This replica's leased share of the business totals (Redis, in data-access/): each replica
 * counts into its own share, and Prometheus sums the replicas.
 */
export interface ShareStore {
  /** The share this replica holds, if any. */
  readonly current: number | undefined;
  /** Leases the lowest free share; resolves with its totals by hash field. */
  claim(): Promise<Map<string, number>>;
  /** Extends the lease; false when the share was lost (the lease ran out and was taken). */
  renew(): Promise<boolean>;
  release(): Promise<void>;
  /** Adds the increments to this share; false when `eventId` was already counted (by any replica). */
  apply(eventId: string | undefined, increments: Increment[]): Promise<boolean>;
}

/** The business counters this process shows on `/metrics` (prom-client, in data-access/). */
export interface Counters {
  add(increments: Increment[]): void;
  /** Sets every counter to the stored totals (at start, and when the replica takes another share). */
  load(totals: Map<string, number>): void;
}
