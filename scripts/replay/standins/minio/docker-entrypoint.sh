#!/bin/sh
# Stand-in for MinIO's /usr/bin/docker-entrypoint.sh: any command that is not `minio` is taken
# as arguments to minio (`server /var/lib/minio` runs `minio server /var/lib/minio`).
set -e
if [ "$1" != minio ] && [ -n "$1" ]; then set -- minio "$@"; fi
exec "$@"
