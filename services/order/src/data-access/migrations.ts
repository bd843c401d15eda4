import {
  type Migration,
  outboxMigration,
  outboxTraceMigration,
  processedEventsMigration,
} from "@shopstream/runtime";

export const migrations: Migration[] = [
  {
    version: 1,
    name: "orders",
    statements: [
      `CREATE TABLE IF NOT EXISTS orders (
         id CHAR(36) NOT NULL PRIMARY KEY,
         user_id CHAR(36) NOT NULL,
         status VARCHAR(20) NOT NULL,
         total_cents BIGINT NOT NULL,
         currency CHAR(3) NOT NULL,
         payment_token VARCHAR(64) NULL,
         payment_id CHAR(36) NULL,
         failure_reason VARCHAR(100) NULL,
         created_at DATETIME(3) NOT NULL,
         updated_at DATETIME(3) NOT NULL,
         KEY orders_by_user (user_id, created_at),
         KEY orders_by_status (status, created_at)
       )`,
      `CREATE TABLE IF NOT EXISTS order_items (
         order_id CHAR(36) NOT NULL,
         line_no SMALLINT NOT NULL,
         product_id CHAR(36) NOT NULL,
         name VARCHAR(300) NOT NULL,
         unit_price_cents BIGINT NOT NULL,
         quantity INT NOT NULL,
         PRIMARY KEY (order_id, line_no),
         CONSTRAINT order_items_order FOREIGN KEY (order_id) REFERENCES orders (id) ON DELETE CASCADE
       )`,
      // Every status change, with what caused it: the audit trail and the proof that an event
      // was applied once.
      `CREATE TABLE IF NOT EXISTS order_status_history (
         id BIGINT AUTO_INCREMENT PRIMARY KEY,
         order_id CHAR(36) NOT NULL,
         from_status VARCHAR(20) NULL,
         to_status VARCHAR(20) NOT NULL,
         cause VARCHAR(100) NOT NULL,
         event_id CHAR(36) NULL,
         at DATETIME(3) NOT NULL,
         KEY history_by_order (order_id, id)
       )`,
      // The key is stored as its SHA-256: any byte string up to 200 chars, compared exactly
      // (no collation folding case or trailing spaces).
      `CREATE TABLE IF NOT EXISTS idempotency_keys (
         user_id CHAR(36) NOT NULL,
         key_hash CHAR(64) CHARACTER SET ascii NOT NULL,
         fingerprint CHAR(64) CHARACTER SET ascii NOT NULL,
         order_id CHAR(36) NOT NULL,
         state ENUM('in_progress', 'completed') NOT NULL,
         response_status SMALLINT NULL,
         locked_until DATETIME(3) NOT NULL,
         expires_at DATETIME(3) NOT NULL,
         created_at DATETIME(3) NOT NULL,
         PRIMARY KEY (user_id, key_hash),
         KEY idempotency_expiry (expires_at),
         KEY idempotency_stale (state, locked_until)
       )`,
    ],
  },
  outboxMigration(2),
  outboxTraceMigration(),
  processedEventsMigration(3),
  {
    version: 4,
    name: "checkout leases",
    statements: [
      // One checkout at a time per buyer, so two requests with different Idempotency-Keys
      // cannot both order the same cart.
      `CREATE TABLE IF NOT EXISTS checkout_leases (
         user_id CHAR(36) NOT NULL PRIMARY KEY,
         order_id CHAR(36) NOT NULL,
         expires_at DATETIME(3) NOT NULL
       )`,
    ],
  },
  {
    version: 5,
    name: "fencing tokens",
    statements: [
      // The owner of a key or lease holds it under its own token; every write checks the token,
      // so an owner whose lease was taken over can no longer complete, forget or release.
      "ALTER TABLE idempotency_keys ADD COLUMN IF NOT EXISTS owner_token CHAR(36) CHARACTER SET ascii NULL",
      "ALTER TABLE checkout_leases ADD COLUMN IF NOT EXISTS holder CHAR(36) CHARACTER SET ascii NULL",
    ],
  },
  {
    version: 6,
    name: "refunds",
    // When the payment of a cancelled order was refunded (payment.refunded): shown to the buyer.
    statements: ["ALTER TABLE orders ADD COLUMN IF NOT EXISTS refunded_at DATETIME(3) NULL"],
  },
];
