#!/bin/sh
# Compatible subset of nginx's official /docker-entrypoint.sh.
set -e
if [ "$1" = "nginx" ] || [ "$1" = "nginx-debug" ]; then
  find /docker-entrypoint.d/ -follow -type f -print 2>/dev/null | sort -V | while read -r f; do
    case "$f" in
    *.envsh) if [ -x "$f" ]; then . "$f"; fi ;;
    *.sh) if [ -x "$f" ]; then "$f"; fi ;;
    esac
  done
fi
exec "$@"
