import {
  createDb,
  createLogger,
  createMetrics,
  type Db,
  migrate,
  outboxMigration,
  processedEventsMigration,
  startRetention,
} from "@shopstream/runtime";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/infra.js";

let database: TestDatabase;
let db: Db;

beforeAll(async () => {
  database = await createTestDatabase("retention");
  db = createDb({
    DB_HOST: database.env.DB_HOST,
    DB_PORT: Number(database.env.DB_PORT),
    DB_NAME: database.env.DB_NAME,
    DB_USER: database.env.DB_USER,
    DB_PASSWORD: database.env.DB_PASSWORD,
    DB_POOL_SIZE: 2,
  });
  await migrate(db, [outboxMigration(1), processedEventsMigration(2)]);
});
afterAll(async () => {
  await db?.end();
  await database?.drop();
});

const ids = async (sql: string) => (await db.query<{ id: string }[]>(sql)).map((r) => r.id).sort();

it("deletes published outbox rows after 7 days and claimed event ids after 30, never an unsent event", async () => {
  const daysAgo = (n: number) => `NOW(3) - INTERVAL ${n} DAY`;
  const outbox = (id: string, created: number, sent: number | null) =>
    db.query(
      `INSERT INTO outbox (id, type, payload, created_at, sent_at) VALUES (?, 't', '{}', ${daysAgo(created)}, ${
        sent === null ? "NULL" : daysAgo(sent)
      })`,
      [id],
    );
  await outbox("sent-long-ago", 9, 8);
  await outbox("sent-lately", 9, 6);
  await outbox("never-sent", 40, null);
  const claimed = (id: string, days: number) =>
    db.query(
      `INSERT INTO processed_events (consumer, event_id, processed_at) VALUES ('c', ?, ${daysAgo(days)})`,
      [id],
    );
  await claimed("claimed-31-days-ago", 31);
  await claimed("claimed-29-days-ago", 29);
  // More expired rows than one batch: every batch runs.
  for (let i = 0; i < 5; i++) await outbox(`old-${i}`, 20, 20);

  const metrics = createMetrics("retention-test");
  const retention = startRetention({
    db,
    logger: createLogger("retention-test", "silent"),
    metrics,
    intervalMs: 3_600_000,
    batchSize: 2,
  });
  await retention.stop(); // waits for the pass it ran at start
  expect(await ids("SELECT id FROM outbox")).toEqual(["never-sent", "sent-lately"]);
  expect(await ids("SELECT event_id AS id FROM processed_events")).toEqual(["claimed-29-days-ago"]);
  expect(await metrics.registry.getSingleMetricAsString("shopstream_retention_deleted_rows_total")).toContain(
    'shopstream_retention_deleted_rows_total{table="outbox",service="retention-test"} 6',
  );
  expect(await retention.runOnce()).toEqual({ outbox: 0, processed_events: 0 });
});
