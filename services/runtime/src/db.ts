import { createRequire } from "node:module";
import type * as mariadb from "mariadb";
import type { Logger } from "./logger.js";
import { traceDbPool } from "./tracing.js";

export type Db = mariadb.Pool;
export type DbConnection = mariadb.PoolConnection | mariadb.Connection;

// The driver is loaded on first use: the services without a database (gateway, cart,
// notification, analytics) never pay its memory (bench/README.md, "Memory").
const require = createRequire(import.meta.url);
let driver: typeof mariadb | undefined;
const loadDriver = () => (driver ??= require("mariadb") as typeof mariadb);

export interface DbConfig {
  DB_HOST: string;
  DB_PORT: number;
  DB_NAME: string;
  DB_USER: string;
  DB_PASSWORD: string;
  DB_POOL_SIZE: number;
  DB_ACQUIRE_TIMEOUT_MS?: number;
}

/** A pool whose every wait is bounded: a stopped database yields errors, never a hang. */
export function createDb(config: DbConfig): Db {
  const pool = loadDriver().createPool({
    host: config.DB_HOST,
    port: config.DB_PORT,
    database: config.DB_NAME,
    user: config.DB_USER,
    password: config.DB_PASSWORD,
    connectionLimit: config.DB_POOL_SIZE,
    connectTimeout: Math.min(5000, config.DB_ACQUIRE_TIMEOUT_MS ?? 5000),
    acquireTimeout: config.DB_ACQUIRE_TIMEOUT_MS ?? 5000,
    idleTimeout: 60,
    timezone: "Z",
    bigIntAsNumber: true,
    insertIdAsNumber: true,
    decimalAsNumber: true,
    dateStrings: false,
  });
  return traceDbPool(pool, { database: config.DB_NAME, host: config.DB_HOST, port: config.DB_PORT });
}

export interface Migration {
  version: number;
  name: string;
  statements: string[];
}

/**
 * Applies versioned migrations once, in order. A named lock serialises replicas that start
 * together; each applied version is recorded in `schema_migrations`.
 */
export async function migrate(db: Db, migrations: Migration[], logger?: Logger): Promise<number[]> {
  const conn = await db.getConnection();
  try {
    await conn.query(
      `CREATE TABLE IF NOT EXISTS schema_migrations (
         version INT PRIMARY KEY,
         name VARCHAR(200) NOT NULL,
         applied_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
       )`,
    );
    const [lock] = await conn.query("SELECT GET_LOCK('schema_migrations', 60) AS got");
    if (Number(lock.got) !== 1) throw new Error("could not take the migration lock within 60 s");
    try {
      const rows: { version: number }[] = await conn.query("SELECT version FROM schema_migrations");
      const done = new Set(rows.map((r) => Number(r.version)));
      const applied: number[] = [];
      for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
        if (done.has(m.version)) continue;
        for (const statement of m.statements) await conn.query(statement);
        await conn.query("INSERT INTO schema_migrations (version, name) VALUES (?, ?)", [m.version, m.name]);
        logger?.info({ version: m.version, migration: m.name }, "migration applied");
        applied.push(m.version);
      }
      return applied;
    } finally {
      await conn.query("SELECT RELEASE_LOCK('schema_migrations')");
    }
  } finally {
    await conn.release();
  }
}

/** Runs `work` in one transaction: committed when it resolves, rolled back when it throws. */
export async function withTransaction<T>(
  db: Db,
  work: (conn: mariadb.PoolConnection) => Promise<T>,
): Promise<T> {
  const conn = await db.getConnection();
  try {
    await conn.beginTransaction();
    const result = await work(conn);
    await conn.commit();
    return result;
  } catch (err) {
    await conn.rollback().catch(() => undefined);
    throw err;
  } finally {
    await conn.release();
  }
}

/** MariaDB's duplicate-key error, for idempotent inserts. */
export function isDuplicateKey(err: unknown): boolean {
  return (err as { errno?: number }).errno === 1062;
}

/** Migration creating the table consumers use to apply each event once. */
export const processedEventsMigration = (version: number): Migration => ({
  version,
  name: "processed events",
  statements: [
    `CREATE TABLE IF NOT EXISTS processed_events (
       consumer VARCHAR(100) NOT NULL,
       event_id CHAR(36) NOT NULL,
       processed_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
       PRIMARY KEY (consumer, event_id)
     )`,
  ],
});

/**
 * Records that `consumer` handled `eventId`, inside the caller's transaction. Returns false when
 * it already had: the caller then skips the work, so a redelivered event is applied once.
 */
export async function claimEvent(conn: DbConnection, consumer: string, eventId: string): Promise<boolean> {
  const result = await conn.query("INSERT IGNORE INTO processed_events (consumer, event_id) VALUES (?, ?)", [
    consumer,
    eventId,
  ]);
  return Number(result.affectedRows) === 1;
}
