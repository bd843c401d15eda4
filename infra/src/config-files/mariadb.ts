import type { Platform } from "../model/index.js";
import { SECRETS_DIR } from "../model/index.js";

/**
 * The MariaDB entrypoint sources `*.sh` files from /docker-entrypoint-initdb.d once, on an empty
 * data directory, after the root user exists. This script creates one database and one user per
 * owning service, granted on its own database only. Passwords are read from the secret files at
 * that moment, so the script itself holds none and is an ordinary config file.
 */
export function mariadbInitScript(platform: Platform): string {
  const databases = platform.workloads.flatMap((w) => w.databases);
  const calls = databases.map(
    (d) =>
      `shopstream_create_database ${shellWord(d.name)} ${shellWord(d.user)} ${SECRETS_DIR}/${d.passwordSecret}`,
  );
  return `# Generated from the ShopStream platform model (infra/src/config-files/mariadb.ts).
# Sourced by docker-entrypoint.sh on first start; uses its docker_process_sql helper.

shopstream_create_database() {
  local database="$1" user="$2" password_file="$3" password
  password="$(docker_sql_escape_string_literal "$(< "$password_file")")"
  mysql_note "Creating database $database and user $user"
  docker_process_sql --database=mysql <<EOSQL
CREATE DATABASE IF NOT EXISTS \\\`$database\\\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS '$user'@'%' IDENTIFIED BY '$password';
ALTER USER '$user'@'%' IDENTIFIED BY '$password';
GRANT ALL PRIVILEGES ON \\\`$database\\\`.* TO '$user'@'%';
EOSQL
}

${calls.join("\n")}
`;
}

function shellWord(s: string): string {
  if (!/^[A-Za-z0-9_]+$/.test(s)) throw new Error(`unsafe database or user name: ${s}`);
  return s;
}
