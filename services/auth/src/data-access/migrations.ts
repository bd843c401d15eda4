import type { Migration } from "@shopstream/runtime";

export const migrations: Migration[] = [
  {
    version: 1,
    name: "users",
    statements: [
      // E-mails are stored normalised (trimmed, lowercase), so a binary collation is exact: a
      // case- or accent-insensitive one would call two different addresses the same.
      `CREATE TABLE IF NOT EXISTS users (
         id CHAR(36) CHARACTER SET ascii NOT NULL,
         email VARCHAR(254) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
         name VARCHAR(100) NOT NULL,
         password_hash VARCHAR(255) CHARACTER SET ascii NOT NULL,
         role ENUM('customer', 'admin') NOT NULL DEFAULT 'customer',
         created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
         updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
         PRIMARY KEY (id),
         UNIQUE KEY users_email (email),
         KEY users_role (role)
       ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`,
    ],
  },
  {
    version: 2,
    name: "password version",
    statements: [
      // Bumped by every password change (not by a rehash): refresh-token families carry the
      // version they were issued under, and one issued under another version is refused.
      "ALTER TABLE users ADD COLUMN IF NOT EXISTS password_version INT UNSIGNED NOT NULL DEFAULT 0 AFTER password_hash",
    ],
  },
];
