#!/bin/bash
# Stand-in for the mariadb image's healthcheck.sh, the two tests the platform runs
# (`healthcheck.sh --connect --innodb_initialized`), as the healthcheck user the entrypoint
# created ($datadir/.my-healthcheck.cnf):
#   --connect             the server accepts TCP connections (networking is on);
#   --innodb_initialized  InnoDB is available.
set -eo pipefail
datadir=/var/lib/mysql
defaults=()
[ -f "$datadir/.my-healthcheck.cnf" ] && defaults=(--defaults-extra-file="$datadir/.my-healthcheck.cnf")
sql() { mariadb "${defaults[@]}" --skip-ssl "$@"; }
connect() {
  [ "$(sql -h localhost --protocol tcp --skip-column-names --batch -e 'select @@skip_networking' 2>&1)" = 0 ]
}
innodb_initialized() {
  [ "$(sql --protocol socket --skip-column-names --batch -e "select 1 from information_schema.ENGINES WHERE engine='innodb' AND support in ('YES', 'DEFAULT', 'ENABLED')")" = 1 ]
}
[ $# -gt 0 ] || { echo "At least one argument required" >&2; exit 1; }
for arg; do
  case "$arg" in
    --connect) connect || { echo "healthcheck connect failed" >&2; exit 1; } ;;
    --innodb_initialized) innodb_initialized || { echo "healthcheck innodb_initialized failed" >&2; exit 1; } ;;
    *) echo "this stand-in knows --connect and --innodb_initialized, not $arg" >&2; exit 1 ;;
  esac
done
