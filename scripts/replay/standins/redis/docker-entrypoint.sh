#!/bin/sh
# Stand-in for the redis image's entrypoint: option-only or *.conf arguments run redis-server;
# started as root it hands the working directory to redis and drops to it; a default umask
# becomes 0077 so the data files are the server's alone.
set -e
if [ "${1#-}" != "$1" ] || [ "${1%.conf}" != "$1" ]; then set -- redis-server "$@"; fi
if [ "$1" = redis-server ] && [ "$(id -u)" = 0 ]; then
  find . \! -user redis -exec chown redis '{}' +
  exec setpriv --reuid=redis --regid=redis --init-groups "$0" "$@"
fi
if [ "$(umask)" = 0022 ]; then umask 0077; fi
exec "$@"
