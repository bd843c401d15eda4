import {
  type Migration,
  outboxMigration,
  outboxTraceMigration,
  processedEventsMigration,
} from "@shopstream/runtime";

export const migrations: Migration[] = [
  {
    version: 1,
    name: "products",
    statements: [
      // Stopwords off for this index: otherwise "with" or "the" typed by a shopper as a required
      // term matches nothing at all. The setting is recorded with the index when it is built.
      "SET SESSION innodb_ft_enable_stopword = OFF",
      `CREATE TABLE IF NOT EXISTS products (
         id CHAR(36) CHARACTER SET ascii NOT NULL,
         sku VARCHAR(64) NOT NULL,
         name VARCHAR(200) NOT NULL,
         description TEXT NOT NULL,
         category VARCHAR(60) NOT NULL,
         price_cents INT UNSIGNED NOT NULL,
         currency CHAR(3) CHARACTER SET ascii NOT NULL,
         stock INT NOT NULL,
         image_key VARCHAR(200) CHARACTER SET ascii NULL,
         image_content_type VARCHAR(40) CHARACTER SET ascii NULL,
         image_sha256 CHAR(64) CHARACTER SET ascii NULL,
         image_size INT UNSIGNED NULL,
         created_at DATETIME(3) NOT NULL,
         updated_at DATETIME(3) NOT NULL,
         PRIMARY KEY (id),
         UNIQUE KEY products_sku (sku),
         KEY products_category_price (category, price_cents),
         KEY products_price (price_cents),
         KEY products_created (created_at),
         KEY products_name (name),
         FULLTEXT KEY products_text (name, description),
         FULLTEXT KEY products_name_text (name),
         CONSTRAINT products_stock_not_negative CHECK (stock >= 0)
       ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`,
      "SET SESSION innodb_ft_enable_stopword = ON",
    ],
  },
  {
    version: 2,
    name: "stock reservations",
    statements: [
      `CREATE TABLE IF NOT EXISTS reservations (
         order_id CHAR(36) CHARACTER SET ascii NOT NULL,
         status ENUM('reserved', 'released') NOT NULL DEFAULT 'reserved',
         created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
         released_at DATETIME(3) NULL,
         PRIMARY KEY (order_id)
       ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`,
      // Name and price are copied: the order keeps what it reserved even if the product changes.
      `CREATE TABLE IF NOT EXISTS reservation_lines (
         order_id CHAR(36) CHARACTER SET ascii NOT NULL,
         line_no SMALLINT UNSIGNED NOT NULL,
         product_id CHAR(36) CHARACTER SET ascii NOT NULL,
         name VARCHAR(200) NOT NULL,
         unit_price_cents INT UNSIGNED NOT NULL,
         currency CHAR(3) CHARACTER SET ascii NOT NULL,
         quantity INT UNSIGNED NOT NULL,
         PRIMARY KEY (order_id, line_no),
         KEY reservation_lines_product (product_id),
         CONSTRAINT reservation_lines_reservation FOREIGN KEY (order_id)
           REFERENCES reservations (order_id) ON DELETE CASCADE
       ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`,
    ],
  },
  outboxMigration(3),
  outboxTraceMigration(),
  processedEventsMigration(4),
  {
    version: 5,
    name: "demo catalog seed marker",
    statements: [
      `CREATE TABLE IF NOT EXISTS catalog_seed (
         id TINYINT UNSIGNED NOT NULL PRIMARY KEY,
         products INT UNSIGNED NOT NULL,
         seeded_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
       ) ENGINE=InnoDB`,
    ],
  },
];
