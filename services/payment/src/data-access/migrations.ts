import {
  type Migration,
  outboxMigration,
  outboxTraceMigration,
  processedEventsMigration,
} from "@shopstream/runtime";

export const migrations: Migration[] = [
  {
    version: 1,
    name: "payments",
    statements: [
      // One payment per order, enforced by the database: the last line of idempotency.
      `CREATE TABLE IF NOT EXISTS payments (
         id CHAR(36) NOT NULL PRIMARY KEY,
         order_id CHAR(36) NOT NULL,
         user_id CHAR(36) NOT NULL,
         amount_cents BIGINT NOT NULL,
         currency CHAR(3) NOT NULL,
         token VARCHAR(100) NOT NULL,
         status ENUM('completed', 'failed') NOT NULL,
         failure_reason VARCHAR(40) NULL,
         event_id CHAR(36) NOT NULL,
         created_at DATETIME(3) NOT NULL,
         UNIQUE KEY payments_one_per_order (order_id)
       )`,
    ],
  },
  outboxMigration(2),
  outboxTraceMigration(),
  processedEventsMigration(3),
  {
    version: 4,
    name: "voids and refunds",
    statements: [
      // voided: the order was cancelled before it was charged (the row stops a later charge);
      // refunded: it was cancelled while its charge completed, and the charge was given back.
      "ALTER TABLE payments MODIFY status ENUM('completed', 'failed', 'voided', 'refunded') NOT NULL",
      "ALTER TABLE payments ADD COLUMN IF NOT EXISTS refunded_at DATETIME(3) NULL",
    ],
  },
];
