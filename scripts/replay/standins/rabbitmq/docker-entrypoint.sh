#!/bin/bash
# Stand-in for the rabbitmq image's entrypoint, the part ShopStream relies on: option-only
# arguments run rabbitmq-server; started as root it would hand the data directory to rabbitmq
# and drop to it; otherwise it runs the command as the user it was started as.
set -euo pipefail
if [ "${1:0:1}" = '-' ]; then set -- rabbitmq-server "$@"; fi
if [ "$1" = rabbitmq-server ] && [ "$(id -u)" = 0 ]; then
  find /var/lib/rabbitmq \! -user rabbitmq -exec chown rabbitmq '{}' +
  exec setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups "$BASH_SOURCE" "$@"
fi
exec "$@"
