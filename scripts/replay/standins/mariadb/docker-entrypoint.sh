#!/bin/bash
# Stand-in for the mariadb image's docker-entrypoint.sh, written for the replay: the behaviour
# ShopStream relies on, with the same helper names, since the generated init script
# (/docker-entrypoint-initdb.d/10-shopstream.sh) is sourced by it and calls them.
#
#  - option-only arguments run mariadbd; any other command is executed as is;
#  - datadir, socket and port come from the server's own configuration;
#  - started as root it hands the data directory to mysql and drops to it;
#  - on an empty data directory: install the system tables, start a socket-only server, set the
#    root password (MARIADB_ROOT_PASSWORD, root also at MARIADB_ROOT_HOST, default %), create the
#    healthcheck users and $DATADIR/.my-healthcheck.cnf, then run /docker-entrypoint-initdb.d:
#    *.sh sourced unless executable, *.sql fed to the client; stop it, then exec the server.
#
#  - MARIADB_ROOT_PASSWORD and MARIADB_ROOT_HOST may come from a file named by <VAR>_FILE (Docker
#    secrets), as may their MYSQL_* aliases.
#
# Not reproduced: time zone tables, replication, backups, MARIADB_DATABASE/USER, upgrades.
set -eo pipefail
shopt -s nullglob

mysql_log() { local type="$1"; shift; printf '%s [%s] [Entrypoint]: %s\n' "$(date --rfc-3339=seconds)" "$type" "$*"; }
mysql_note() { mysql_log Note "$@"; }
mysql_warn() { mysql_log Warn "$@" >&2; }
mysql_error() { mysql_log ERROR "$@" >&2; exit 1; }

# The server's value of one setting (after its configuration files and these arguments).
mysql_get_config() {
  local conf="$1"; shift
  "$@" --verbose --help 2>/dev/null |
    awk -v conf="$conf" '$1 == conf && /^[^ \t]/ { sub(/^[^ \t]+[ \t]+/, ""); print; exit }'
}

# usage: file_env VAR [DEFAULT]: VAR from itself or from the file named by VAR_FILE (not both).
file_env() {
  local var="$1" fileVar="${1}_FILE" def="${2:-}"
  if [ "${!var:-}" ] && [ "${!fileVar:-}" ]; then mysql_error "Both $var and $fileVar are set (but are exclusive)"; fi
  local val="$def"
  if [ "${!var:-}" ]; then val="${!var}"; elif [ "${!fileVar:-}" ]; then val="$(<"${!fileVar}")"; fi
  export "$var"="$val"
  unset "$fileVar"
}

# MARIADB_x from itself, its file, or its MYSQL_x alias.
_mariadb_file_env() {
  local var="$1"; shift
  local maria="MARIADB_${var#MYSQL_}"
  file_env "$var" "$@"
  file_env "$maria" "${!var}"
  if [ "${!maria:-}" ]; then export "$var"="${!maria}"; fi
}

docker_exec_client() {
  mariadb --protocol=socket -uroot -hlocalhost --socket="${SOCKET}" "$@"
}

# SQL from stdin as root: `docker_process_sql [--dont-use-mysql-root-password] [client args]`.
docker_process_sql() {
  if [ "$1" = '--dont-use-mysql-root-password' ]; then
    shift
    MYSQL_PWD='' docker_exec_client "$@"
  else
    MYSQL_PWD=$MARIADB_ROOT_PASSWORD docker_exec_client "$@"
  fi
}

# $1 escaped for a single-quoted SQL string: backslashes, newlines and quotes.
docker_sql_escape_string_literal() {
  local newline=$'\n'
  local escaped=${1//\\/\\\\}
  escaped="${escaped//$newline/\\n}"
  echo "${escaped//\'/\\\'}"
}

docker_process_init_files() {
  local f
  for f; do
    case "$f" in
      *.sh)
        if [ -x "$f" ]; then mysql_note "$0: running $f"; "$f"
        else mysql_note "$0: sourcing $f"; . "$f"; fi ;;
      *.sql) mysql_note "$0: running $f"; docker_process_sql <"$f" ;;
      *) mysql_warn "$0: ignoring $f" ;;
    esac
  done
}

docker_temp_server_start() {
  "$@" --skip-networking --socket="${SOCKET}" --skip-log-bin &
  MARIADB_PID=$!
  mysql_note "Waiting for server startup"
  local i
  for i in {60..0}; do
    if docker_process_sql --dont-use-mysql-root-password --database=mysql <<<'SELECT 1' &>/dev/null; then break; fi
    if ! kill -0 "$MARIADB_PID" 2>/dev/null; then mysql_error "The temporary server exited."; fi
    sleep 0.5
  done
  [ "$i" != 0 ] || mysql_error "Unable to start server."
}

docker_setup_db() {
  local root rootHost="${MARIADB_ROOT_HOST:-%}" health
  root=$(docker_sql_escape_string_literal "$MARIADB_ROOT_PASSWORD")
  health="$(head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')"
  local users=""
  if [ "$rootHost" != localhost ]; then
    users="CREATE USER 'root'@'${rootHost}' IDENTIFIED BY '${root}';
GRANT ALL ON *.* TO 'root'@'${rootHost}' WITH GRANT OPTION;
GRANT PROXY ON ''@'%' TO 'root'@'${rootHost}' WITH GRANT OPTION;"
  fi
  local h
  for h in 127.0.0.1 ::1 localhost; do
    users="${users}
CREATE USER IF NOT EXISTS healthcheck@'${h}' IDENTIFIED BY '${health}';
GRANT USAGE ON *.* TO healthcheck@'${h}';"
  done
  (umask 0077 && printf '[mariadb-client]\nport=%s\nsocket=%s\nuser=healthcheck\npassword=%s\nprotocol=tcp\n' \
    "$PORT" "$SOCKET" "$health" >"$DATADIR/.my-healthcheck.cnf")
  mysql_note "Securing system users"
  docker_process_sql --dont-use-mysql-root-password --database=mysql --binary-mode <<-EOSQL
	SET @@SESSION.SQL_LOG_BIN=0;
	DROP USER IF EXISTS root@'127.0.0.1', root@'::1';
	EXECUTE IMMEDIATE CONCAT('DROP USER IF EXISTS root@\'', @@hostname,'\'');
	SET PASSWORD FOR 'root'@'localhost' = PASSWORD('${root}');
	${users}
	EOSQL
}

_main() {
  if [ "${1:0:1}" = '-' ]; then set -- mariadbd "$@"; fi
  if [ "$1" != mariadbd ] && [ "$1" != mysqld ]; then exec "$@"; fi

  mysql_note "Entrypoint script (replay stand-in) for $(mariadbd --version) started."
  DATADIR="$(mysql_get_config datadir "$@")"
  SOCKET="$(mysql_get_config socket "$@")"
  PORT="$(mysql_get_config port "$@")"
  DATADIR="${DATADIR%/}"
  _mariadb_file_env MYSQL_ROOT_HOST '%'
  _mariadb_file_env MYSQL_ROOT_PASSWORD
  if [ "$(id -u)" = 0 ]; then
    find "$DATADIR" \! -user mysql -exec chown mysql: '{}' +
    mysql_note "Switching to dedicated user 'mysql'"
    exec setpriv --reuid=mysql --regid=mysql --init-groups "${BASH_SOURCE[0]}" "$@"
  fi

  if [ ! -d "$DATADIR/mysql" ]; then
    [ -n "$MARIADB_ROOT_PASSWORD" ] || mysql_error "Database is uninitialized and MARIADB_ROOT_PASSWORD is not set"
    [ -w "$DATADIR" ] || mysql_error "$DATADIR is not writable by $(id -u):$(id -g)"
    mysql_note "Initializing database files"
    mariadb-install-db --datadir="$DATADIR" --rpm --auth-root-authentication-method=normal \
      --skip-test-db --skip-log-bin "${@:2}" >/dev/null
    mysql_note "Starting temporary server"
    docker_temp_server_start "$@"
    docker_setup_db
    docker_process_init_files /docker-entrypoint-initdb.d/*
    mysql_note "Stopping temporary server"
    kill "$MARIADB_PID"
    wait "$MARIADB_PID"
    mysql_note "MariaDB init process done. Ready for start up."
  fi
  exec "$@"
}

# Sourced (as test/infra/config-programs.test.ts does, for its helpers): define, do not run.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  _main "$@"
fi
