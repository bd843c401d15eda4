#!/usr/bin/env bash
# Make sure a Docker engine answers on this machine, and print its version.
#
# Idempotent: when `docker info` already answers this takes well under a second.
# Otherwise it installs Debian's docker.io (engine, containerd, runc, iptables)
# when dockerd is missing, starts dockerd in the background (there is no systemd
# here) and waits, bounded, for it to answer.
#
# Tunables (environment):
#   DOCKERD_FLAGS        extra flags for dockerd; when set, only these are tried
#   DOCKERD_WAIT_SECONDS how long to wait for each start attempt (default 60)
#   DOCKERD_LOG          dockerd's log file (default /var/log/dockerd.log)
#
# Without DOCKERD_FLAGS the default engine (overlay2, bridge network, iptables)
# is tried first; if it does not come up, a restricted fallback is tried
# (--iptables=false --bridge=none --storage-driver=vfs), with which containers
# and builds must use `--network host`.
set -euo pipefail

WAIT_SECONDS="${DOCKERD_WAIT_SECONDS:-60}"
LOG="${DOCKERD_LOG:-/var/log/dockerd.log}"
FALLBACK_FLAGS="--iptables=false --bridge=none --storage-driver=vfs"

say() { printf 'ensure-docker: %s\n' "$*" >&2; }
die() {
  say "ERROR: $*"
  exit 1
}

engine_answers() { docker info >/dev/null 2>&1; }

print_version() {
  docker version --format 'Docker engine {{.Server.Version}} (API {{.Server.APIVersion}}), client {{.Client.Version}}'
  docker info --format 'storage driver: {{.Driver}}, cgroup driver: {{.CgroupDriver}}' 2>/dev/null || true
}

# Fast path: nothing to do.
if command -v docker >/dev/null 2>&1 && engine_answers; then
  print_version
  exit 0
fi

[ "$(id -u)" -eq 0 ] || die "the engine is not answering and starting it needs root"

# 1. Install the engine when absent.
if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then
  say "installing Debian's docker.io"
  export DEBIAN_FRONTEND=noninteractive
  apt_install() { apt-get install -y --no-install-recommends docker.io >/tmp/ensure-docker-apt.log 2>&1; }
  if ! apt_install; then
    apt-get update >>/tmp/ensure-docker-apt.log 2>&1 || true
    apt_install || {
      tail -20 /tmp/ensure-docker-apt.log >&2
      die "apt-get install docker.io failed (log: /tmp/ensure-docker-apt.log)"
    }
  fi
  command -v dockerd >/dev/null 2>&1 || die "docker.io installed but dockerd is not on PATH"
fi

# Wait until the engine answers, the given dockerd pid dies, or time runs out.
wait_for_engine() {
  local pid="$1" waited=0
  while [ "$waited" -lt "$WAIT_SECONDS" ]; do
    engine_answers && return 0
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
      return 1
    fi
    sleep 1
    waited=$((waited + 1))
  done
  engine_answers
}

# 2. A dockerd may already be starting (e.g. a concurrent run): wait for it.
PIDFILE=/var/run/docker.pid
if [ -s "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
  existing="$(cat "$PIDFILE")"
  say "dockerd (pid $existing) is running but not answering yet; waiting up to ${WAIT_SECONDS}s"
  wait_for_engine "$existing" && {
    print_version
    exit 0
  }
  die "dockerd pid $existing does not answer; see $LOG"
fi

# 3. Start dockerd ourselves.
start_dockerd() {
  local flags="$1" pid
  say "starting dockerd ${flags:-(default flags)}; log: $LOG"
  mkdir -p "$(dirname "$LOG")"
  printf '\n===== %s dockerd %s =====\n' "$(date -u +%FT%TZ)" "$flags" >>"$LOG"
  # setsid + nohup: the engine outlives this script and its caller's process group.
  # shellcheck disable=SC2086
  setsid nohup dockerd $flags >>"$LOG" 2>&1 </dev/null &
  pid=$!
  if wait_for_engine "$pid"; then
    return 0
  fi
  say "dockerd ${flags:-(default flags)} did not answer within ${WAIT_SECONDS}s; last log lines:"
  tail -15 "$LOG" >&2 || true
  # Stop only the dockerd this script started.
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  fi
  return 1
}

if [ -n "${DOCKERD_FLAGS+x}" ]; then
  start_dockerd "$DOCKERD_FLAGS" || die "dockerd did not start with DOCKERD_FLAGS='$DOCKERD_FLAGS'"
elif ! start_dockerd ""; then
  say "retrying with fallback flags: $FALLBACK_FLAGS"
  start_dockerd "$FALLBACK_FLAGS" || die "dockerd did not start, with default or fallback flags; see $LOG"
  say "NOTE: engine runs without bridge networking: use --network host for docker run and docker build"
fi

print_version
