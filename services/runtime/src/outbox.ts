import { Gauge } from "prom-client";
import type { Db, DbConnection, Migration } from "./db.js";
import { withTimeout } from "./http.js";
import type { Logger } from "./logger.js";
import type { Broker, EventEnvelope } from "./messaging.js";
import type { Metrics } from "./metrics.js";
import { currentTraceparent, withTraceparent } from "./tracing.js";

export const outboxMigration = (version: number): Migration => ({
  version,
  name: "transactional outbox",
  statements: [
    `CREATE TABLE IF NOT EXISTS outbox (
       id CHAR(36) PRIMARY KEY,
       type VARCHAR(100) NOT NULL,
       payload LONGTEXT NOT NULL,
       created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
       sent_at DATETIME(3) NULL,
       traceparent VARCHAR(64) NULL,
       KEY outbox_pending (sent_at, created_at)
     )`,
  ],
});

/**
 * The trace of the transaction that wrote each event, so the relay's publish joins that trace
 * (docs/tracing.md): the column for outbox tables made before it. Numbered 1001 so it never takes
 * a number a service's own migrations use.
 */
export const OUTBOX_TRACE_MIGRATION = 1001;
export const outboxTraceMigration = (): Migration => ({
  version: OUTBOX_TRACE_MIGRATION,
  name: "outbox trace context",
  statements: ["ALTER TABLE outbox ADD COLUMN IF NOT EXISTS traceparent VARCHAR(64) NULL"],
});

/** Writes an event in the caller's transaction; the relay publishes it after commit. */
export async function enqueueEvent(conn: DbConnection, event: EventEnvelope<unknown>): Promise<void> {
  await conn.query("INSERT INTO outbox (id, type, payload, created_at, traceparent) VALUES (?, ?, ?, ?, ?)", [
    event.id,
    event.type,
    JSON.stringify(event),
    new Date(event.occurredAt),
    currentTraceparent(),
  ]);
}

export interface OutboxRelay {
  /**
   * Publish now rather than at the next tick (call after a commit that enqueued events). After
   * `stop()` it does nothing: what is enqueued while shutting down waits for the next start.
   */
  kick(): void;
  /** Publishes everything pending; resolves with the number published. */
  flush(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * Publishes pending outbox rows with publisher confirms, oldest first, and marks them sent.
 * Rows are locked with SKIP LOCKED so replicas share the work; a row is marked sent only
 * after the broker confirmed it, so a crash or broker outage can repeat an event but never
 * lose one (consumers are idempotent by event id).
 */
export function startOutboxRelay(opts: {
  db: Db;
  broker: Broker;
  logger: Logger;
  metrics: Metrics;
  intervalMs?: number;
  batchSize?: number;
}): OutboxRelay {
  const { db, broker, logger } = opts;
  const interval = opts.intervalMs ?? 1000;
  const batchSize = opts.batchSize ?? 100;
  // Counted when scraped, not after a relay round: during a broker outage a round hangs on its
  // publish, and that is exactly when the number must be right (alerting watches it).
  new Gauge({
    name: "shopstream_outbox_pending",
    help: "Outbox events not yet confirmed by the broker",
    registers: [opts.metrics.registry],
    async collect() {
      try {
        const [row] = await withTimeout(
          db.query("SELECT COUNT(*) AS n FROM outbox WHERE sent_at IS NULL"),
          1000,
          "outbox count",
        );
        this.set(Number(row.n));
      } catch {
        // The database is away: keep the last value rather than report zero.
      }
    },
  });
  let running: Promise<number> | undefined;
  let again = false;
  let stopped = false;
  let lastError = "";

  const publishBatch = async (): Promise<number> => {
    const conn = await db.getConnection();
    try {
      // READ COMMITTED: the locking read then takes record locks only. Under REPEATABLE READ it
      // also locked the gap after the last pending row, so while a publish waited for a broker
      // that is away, every transaction that enqueued an event (a checkout) waited with it.
      await conn.query("SET TRANSACTION ISOLATION LEVEL READ COMMITTED");
      await conn.beginTransaction();
      const rows: { id: string; payload: string; traceparent: string | null }[] = await conn.query(
        "SELECT id, payload, traceparent FROM outbox WHERE sent_at IS NULL ORDER BY created_at, id LIMIT ? FOR UPDATE SKIP LOCKED",
        [batchSize],
      );
      const sent: string[] = [];
      try {
        for (const row of rows) {
          // In the trace of the request or event that wrote the row, not the relay's.
          await withTraceparent(row.traceparent, () =>
            broker.publish(JSON.parse(row.payload) as EventEnvelope, 5000),
          );
          sent.push(row.id);
        }
      } finally {
        if (sent.length)
          await conn.query("UPDATE outbox SET sent_at = CURRENT_TIMESTAMP(3) WHERE id IN (?)", [sent]);
        await conn.commit();
      }
      return sent.length;
    } catch (err) {
      await conn.rollback().catch(() => undefined);
      throw err;
    } finally {
      await conn.release();
    }
  };

  const run = async (): Promise<number> => {
    let total = 0;
    try {
      for (;;) {
        const n = await publishBatch();
        total += n;
        if (n < batchSize) break;
      }
      if (lastError) logger.info("outbox relay recovered");
      lastError = "";
    } catch (err) {
      const message = (err as Error).message;
      if (message !== lastError) logger.warn({ err: message }, "outbox relay could not publish; will retry");
      lastError = message;
    }
    return total;
  };

  const trigger = (): Promise<number> => {
    if (running) {
      again = true;
      return running;
    }
    running = run().finally(() => {
      running = undefined;
      if (again && !stopped) {
        again = false;
        void trigger();
      }
    });
    return running;
  };

  const timer = setInterval(() => void trigger(), interval);
  timer.unref();
  void trigger();

  return {
    kick: () => {
      if (!stopped) void trigger();
    },
    flush: async () => {
      await running;
      return trigger();
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
