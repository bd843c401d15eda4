import type { Db } from "./db.js";
import type { Logger } from "./logger.js";
import type { Metrics } from "./metrics.js";

/** Rows of one table older than `keepDays` by `column` (the database's clock) are deleted. */
export interface RetentionRule {
  table: string;
  column: string;
  keepDays: number;
  /** Only rows that also match this SQL condition (e.g. `sent_at IS NOT NULL`). */
  where?: string;
}

/**
 * The event bookkeeping every outbox service keeps (docs/faults.md, "Retention"):
 * - published outbox rows for 7 days (what was sent, for an investigation; unsent rows are never
 *   deleted: they are the relay's work);
 * - claimed event ids for 30 days: a redelivery, a retry or a re-driven dead letter older than
 *   that could be applied twice, so dead letters must be re-driven within it.
 */
export const EVENT_RETENTION: RetentionRule[] = [
  { table: "outbox", column: "sent_at", keepDays: 7, where: "sent_at IS NOT NULL" },
  { table: "processed_events", column: "processed_at", keepDays: 30 },
];

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

export interface Retention {
  /** One pass over every rule; resolves with the rows deleted per table. */
  runOnce(): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

/**
 * Deletes expired rows every `intervalMs` (and once at start), in batches of `batchSize` so that
 * no delete holds locks for long; replicas may run it together (a row is deleted once).
 */
export function startRetention(opts: {
  db: Db;
  logger: Logger;
  metrics: Metrics;
  rules?: RetentionRule[];
  intervalMs?: number;
  batchSize?: number;
}): Retention {
  const rules = opts.rules ?? EVENT_RETENTION;
  for (const r of rules)
    if (!IDENTIFIER.test(r.table) || !IDENTIFIER.test(r.column))
      throw new Error(`bad retention rule ${r.table}`);
  const batchSize = opts.batchSize ?? 1000;
  const deleted = opts.metrics.counter(
    "shopstream_retention_deleted_rows_total",
    "Rows deleted because they outlived their retention window",
    ["table"],
  );

  const runOnce = async () => {
    const counts: Record<string, number> = {};
    for (const rule of rules) {
      let total = 0;
      for (;;) {
        const result = await opts.db.query(
          `DELETE FROM ${rule.table} WHERE ${rule.where ? `(${rule.where}) AND ` : ""}${rule.column} < NOW(3) - INTERVAL ? DAY LIMIT ?`,
          [rule.keepDays, batchSize],
        );
        const n = Number(result.affectedRows);
        total += n;
        if (n < batchSize) break;
      }
      if (total) deleted.inc({ table: rule.table }, total);
      counts[rule.table] = total;
    }
    return counts;
  };

  let running: Promise<unknown> = Promise.resolve();
  const tick = () => {
    running = runOnce().catch((err: Error) =>
      opts.logger.warn({ err: err.message }, "retention pass failed; will retry at the next one"),
    );
  };
  const timer = setInterval(tick, opts.intervalMs ?? 60 * 60_000);
  timer.unref();
  tick();
  return {
    runOnce,
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
