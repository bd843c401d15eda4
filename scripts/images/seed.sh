#!/usr/bin/env bash
# Seed the base images this repo's Dockerfiles build FROM, so that `docker build`
# works on a machine that cannot reach Docker Hub (air-gapped or registry-less).
#
#   bash scripts/images/seed.sh [--force] [IMAGE...]      (npm run images:seed)
#
# For each image: already present locally -> skip; else `docker pull` with a short
# timeout; else build a *stand-in* under exactly that name from Debian bookworm
# (debootstrap, cached under $SEED_CACHE_DIR) plus the host's own CA bundle, apt
# sources and npm registry setting. See scripts/images/README.md.
#
# Environment:
#   SEED_CACHE_DIR     debootstrap cache (default /var/cache/shopstream-seed)
#   SEED_PULL_TIMEOUT  seconds allowed for each `docker pull` (default 20)
#   SEED_NO_PULL=1     do not try `docker pull` at all
#   SEED_FORCE=1       same as --force: rebuild images even when present
#   SEED_MIRROR        Debian mirror for debootstrap (default: the host's apt mirror)
#   SEED_CA_BUNDLE     CA bundle copied into images (default /etc/ssl/certs/ca-certificates.crt)
set -euo pipefail

SUITE=bookworm
CACHE_DIR="${SEED_CACHE_DIR:-/var/cache/shopstream-seed}"
PULL_TIMEOUT="${SEED_PULL_TIMEOUT:-20}"
CA_BUNDLE="${SEED_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
FORCE="${SEED_FORCE:-0}"
IMAGE_PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# Files the stand-ins get verbatim, laid out as in their root file system (scripts/images/seed/).
SEED_FILES="$ROOT/scripts/images/seed"

# ---------------------------------------------------------------------------
# The base images this repo's Dockerfiles build FROM, read from their FROM lines (`FROM ${NAME}`
# takes the default of its `ARG NAME=...`; earlier stages and `scratch` are not images), so each
# name is written once, in its Dockerfile.
base_images() {
  awk '
    /^ARG [A-Za-z_]+=/ { split($2, kv, "="); arg[kv[1]] = kv[2] }
    /^FROM / {
      image = $2
      if (image ~ /^\$\{[A-Za-z_]+\}$/) image = arg[substr(image, 3, length(image) - 3)]
      if (image != "" && image != "scratch" && !(image in stage) && !seen[image]++) print image
      if (toupper($3) == "AS") stage[$4] = 1
    }
  ' "$ROOT/services/Dockerfile" "$ROOT/services/storefront/Dockerfile" "$ROOT/scripts/replay/standins/Dockerfile"
}
mapfile -t IMAGES < <(base_images)
[ "${#IMAGES[@]}" -gt 0 ] || { printf 'seed: ERROR: no FROM line names a base image\n' >&2; exit 1; }
# ---------------------------------------------------------------------------

log() { printf 'seed: %s\n' "$*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

selected=()
for arg in "$@"; do
  case "$arg" in
  --force) FORCE=1 ;;
  -h | --help)
    sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
  -*) die "unknown option $arg" ;;
  *) selected+=("$arg") ;;
  esac
done
[ "${#selected[@]}" -gt 0 ] || selected=("${IMAGES[@]}")

# --- temporary folders and mounts, cleaned on any exit ----------------------
WORKDIRS=()
# shellcheck disable=SC2317  # invoked from traps
cleanup() {
  local d
  for d in "${WORKDIRS[@]}"; do
    [ -d "$d" ] || continue
    if mountpoint -q "$d/rootfs/proc" 2>/dev/null; then umount -l "$d/rootfs/proc" || true; fi
    rm -rf --one-file-system "$d"
  done
}
trap cleanup EXIT
# Sets W (not a command substitution, so that the folder is recorded for cleanup).
W=""
new_workdir() {
  W="$(mktemp -d /var/tmp/shopstream-seed.XXXXXX)"
  WORKDIRS+=("$W")
}

# --- host facts ---------------------------------------------------------------
# The Debian mirror the host's apt uses for $SUITE (deb822 .sources or one-line .list).
host_debian_mirror() {
  local f uri=""
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    uri="$(awk -v suite="$SUITE" '
      BEGIN { RS = ""; FS = "\n" }
      {
        uris = ""; suites = ""; types = ""; enabled = 1
        for (i = 1; i <= NF; i++) {
          l = $i
          if (l ~ /^[ \t]*#/) continue
          if (l ~ /^URIs:/) { sub(/^URIs:[ \t]*/, "", l); uris = l }
          else if (l ~ /^Suites:/) { sub(/^Suites:[ \t]*/, "", l); suites = " " l " " }
          else if (l ~ /^Types:/) { types = " " l " " }
          else if (tolower(l) ~ /^enabled:[ \t]*no/) { enabled = 0 }
        }
        if (enabled && types ~ /[ \t]deb[ \t]/ && index(suites, " " suite " ")) {
          split(uris, u, /[ \t]+/); print u[1]; exit
        }
      }' "$f")"
    [ -n "$uri" ] && break
  done
  if [ -z "$uri" ]; then
    uri="$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk -v suite="$SUITE" '
      $1 == "deb" {
        i = 2
        if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
        if ($(i + 1) == suite) { print $i; exit }
      }')"
  fi
  printf '%s\n' "${uri:-http://deb.debian.org/debian}"
}

# The npm registry the host uses (user + global config, not a project's .npmrc),
# without any credentials that might be embedded in the URL.
host_npm_registry() {
  local r
  r="$(cd / && npm config get registry 2>/dev/null || true)"
  case "$r" in
  http://* | https://*) ;;
  *) r="https://registry.npmjs.org/" ;;
  esac
  printf '%s\n' "$r" | sed -E 's#^(https?://)[^/@]*@#\1#'
}

warn_about_proxies() {
  local v
  for v in HTTP_PROXY HTTPS_PROXY http_proxy https_proxy; do
    if [ -n "${!v:-}" ]; then
      log "note: $v is set on the host; it is used while building stand-ins but NOT baked into images"
      log "      (pass it to docker build/run yourself, e.g. --build-arg $v)"
    fi
  done
}

# --- prerequisites ------------------------------------------------------------
ensure_engine() {
  docker info >/dev/null 2>&1 && return 0
  log "Docker engine not answering; running .ci/ensure-docker.sh"
  bash "$ROOT/.ci/ensure-docker.sh" >&2
}

ensure_debootstrap() {
  command -v debootstrap >/dev/null 2>&1 && return 0
  log "installing debootstrap"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends debootstrap >/dev/null 2>&1 ||
    { apt-get update >/dev/null 2>&1 && apt-get install -y --no-install-recommends debootstrap >/dev/null; } ||
    die "could not install debootstrap"
}

# --- the cached bootstrap ------------------------------------------------------
# One debootstrap (minbase), slimmed like Debian's official *-slim images, shared
# by every stand-in. Rebuilt only if missing or incomplete.
BASE=""
prepare_base() {
  [ -n "$BASE" ] && return 0
  local arch mirror tmp t0
  arch="$(dpkg --print-architecture)"
  BASE="$CACHE_DIR/debootstrap/$SUITE-minbase-$arch"
  if [ -f "$BASE/.complete" ] && [ -x "$BASE/rootfs/bin/sh" ]; then
    log "reusing cached bootstrap $BASE"
    return 0
  fi
  ensure_debootstrap
  mirror="${SEED_MIRROR:-$(host_debian_mirror)}"
  mkdir -p "$CACHE_DIR/debootstrap"
  tmp="$(mktemp -d "$CACHE_DIR/debootstrap/.partial.XXXXXX")"
  chmod 755 "$tmp"
  WORKDIRS+=("$tmp")
  t0="$(now)"
  log "debootstrap --variant=minbase $SUITE from $mirror (once; cached in $BASE)"
  if ! debootstrap --variant=minbase "$SUITE" "$tmp/rootfs" "$mirror" >"$tmp/debootstrap.log" 2>&1; then
    tail -20 "$tmp/debootstrap.log" >&2
    die "debootstrap failed"
  fi
  slim_rootfs "$tmp/rootfs"
  printf 'suite=%s\nvariant=minbase\narch=%s\nmirror=%s\ncreated=%s\n' \
    "$SUITE" "$arch" "$mirror" "$(date -u +%FT%TZ)" >"$tmp/.complete"
  rm -rf --one-file-system "$BASE"
  mv "$tmp" "$BASE"
  log "bootstrap ready in $(elapsed "$t0")s ($(du -sh "$BASE/rootfs" | cut -f1))"
}

# What debuerreotype does for Debian's official docker images (debian:*-slim):
# no service starts in builds, no apt caches, no docs/man/locales.
slim_rootfs() {
  local r="$1"
  printf '#!/bin/sh\n# no services start inside image builds\nexit 101\n' >"$r/usr/sbin/policy-rc.d"
  chmod 755 "$r/usr/sbin/policy-rc.d"
  mkdir -p "$r/etc/apt/apt.conf.d" "$r/etc/dpkg/dpkg.cfg.d"
  cat "$SEED_FILES/slim/etc/apt/apt.conf.d/docker-clean" >"$r/etc/apt/apt.conf.d/docker-clean"
  echo 'Acquire::Languages "none";' >"$r/etc/apt/apt.conf.d/docker-no-languages"
  echo 'Acquire::GzipIndexes "true";' >"$r/etc/apt/apt.conf.d/docker-gzip-indexes"
  echo 'Apt::AutoRemove::SuggestsImportant "false";' >"$r/etc/apt/apt.conf.d/docker-autoremove-suggests"
  echo 'force-unsafe-io' >"$r/etc/dpkg/dpkg.cfg.d/docker-apt-speedup"
  cat "$SEED_FILES/slim/etc/dpkg/dpkg.cfg.d/docker" >"$r/etc/dpkg/dpkg.cfg.d/docker"
  find "$r/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
  find "$r/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null || true
  find "$r/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} + 2>/dev/null || true
  rm -rf "$r/usr/share/man/"* "$r/usr/share/info/"* "$r/usr/share/groff/"* "$r/usr/share/lintian/"*
  rm -rf "$r/var/cache/apt/archives/"*.deb "$r/var/cache/apt/"*.bin "$r/var/lib/apt/lists/"*
  rm -f "$r/var/log/bootstrap.log" "$r/var/cache/debconf/"*-old "$r/var/lib/dpkg/"*-old
}

# --- per-image rootfs helpers ---------------------------------------------------
# A fresh copy of the cached bootstrap, with the host's apt sources and CAs.
new_rootfs() {
  local w="$1" r
  r="$w/rootfs"
  cp -a "$BASE/rootfs" "$r"
  install_host_sources "$r"
  # Local (e.g. TLS-inspecting proxy) CAs, so a later `update-ca-certificates`
  # inside a build keeps them; the full bundle itself is copied at the end.
  mkdir -p "$r/usr/local/share/ca-certificates" "$r/etc/ssl/certs"
  find /usr/local/share/ca-certificates -maxdepth 1 -name '*.crt' -exec cp {} "$r/usr/local/share/ca-certificates/" \; 2>/dev/null || true
  cp "$CA_BUNDLE" "$r/etc/ssl/certs/ca-certificates.crt"
}

# The host's active apt sources, for Debian only: a file is copied when every
# keyring it names exists in the image and every suite is $SUITE or $SUITE-*.
install_host_sources() {
  local r="$1" f k s ok copied=0
  rm -f "$r/etc/apt/sources.list.d/"*
  : >"$r/etc/apt/sources.list"
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    grep -qvE '^[[:space:]]*(#|$)' "$f" || continue
    ok=1
    for k in $(grep -oiE 'signed-by[:=][[:space:]]*[^][:space:]]+' "$f" | sed -E 's/^[Ss]igned-[Bb]y[:=][[:space:]]*//'); do
      [ -e "$r$k" ] || ok=0
    done
    for s in $(awk '
        /^[ \t]*#/ { next }
        /^Suites:/ { for (i = 2; i <= NF; i++) print $i }
        $1 == "deb" || $1 == "deb-src" {
          i = 2; if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
          print $(i + 1)
        }' "$f"); do
      case "$s" in "$SUITE" | "$SUITE"-*) ;; *) ok=0 ;; esac
    done
    [ "$ok" = 1 ] || continue
    if [ "$f" = /etc/apt/sources.list ]; then cp "$f" "$r/etc/apt/sources.list"; else cp "$f" "$r/etc/apt/sources.list.d/"; fi
    copied=1
  done
  if [ "$copied" = 0 ]; then
    printf 'deb %s %s main\n' "${SEED_MIRROR:-$(host_debian_mirror)}" "$SUITE" >"$r/etc/apt/sources.list"
  fi
}

# Run a shell snippet inside the rootfs (with /proc and the host's DNS for apt).
in_rootfs() {
  local r="$1" script="$2" v envs=()
  for v in HTTP_PROXY HTTPS_PROXY NO_PROXY http_proxy https_proxy no_proxy; do
    [ -n "${!v:-}" ] && envs+=("$v=${!v}")
  done
  mountpoint -q "$r/proc" || mount -t proc proc "$r/proc"
  cp -L /etc/resolv.conf "$r/etc/resolv.conf"
  chroot "$r" /usr/bin/env -i PATH="$IMAGE_PATH" HOME=/root LANG=C.UTF-8 \
    DEBIAN_FRONTEND=noninteractive "${envs[@]}" /bin/sh -ec "$script"
}

# Undo build-time state, refresh the CA bundle, import as an image.
finish_and_import() {
  local w="$1" image="$2" contents="$3"
  shift 3
  local r="$w/rootfs"
  if mountpoint -q "$r/proc"; then umount "$r/proc"; fi
  cp "$CA_BUNDLE" "$r/etc/ssl/certs/ca-certificates.crt"
  chmod 644 "$r/etc/ssl/certs/ca-certificates.crt"
  : >"$r/etc/resolv.conf"
  printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$r/etc/hosts"
  rm -f "$r/etc/hostname"
  rm -rf "$r/var/lib/apt/lists/"* "$r/var/cache/apt/archives/"*.deb "$r/tmp/"* "$r/root/.cache"
  find "$r/var/log" -type f \( -name '*.log' -o -name 'alternatives*' \) -delete 2>/dev/null || true
  tar --numeric-owner -C "$r" -cf - . |
    docker import "$@" \
      --change 'LABEL org.shopstream.standin=true' \
      --change "LABEL org.shopstream.standin.for=$image" \
      --change "LABEL org.shopstream.standin.contents=\"$contents\"" \
      --message "ShopStream stand-in for $image ($contents)" \
      - "$image" >/dev/null
}

# --- stand-in: node:20-bookworm-slim ---------------------------------------------
# Layout of the official image: node at /usr/local/bin/node, npm/npx/corepack in
# /usr/local/lib/node_modules, user node 1000:1000 (/home/node), no WORKDIR,
# ENTRYPOINT docker-entrypoint.sh, CMD ["node"]. Not in the official image:
# NODE_EXTRA_CA_CERTS (Node's own https trusts the host's CAs, as on the host)
# and update-notifier=false; no yarn (it is not in Debian nor copied).
build_node() {
  local image="$1" w r node_bin prefix version registry
  node_bin="$(readlink -f "$(command -v node || true)")"
  [ -x "$node_bin" ] || die "no node on the host to copy into $image"
  prefix="$(dirname "$(dirname "$node_bin")")"
  version="$("$node_bin" -p 'process.versions.node')"
  case "$version" in 20.*) ;; *) die "host node is $version; $image needs Node.js 20" ;; esac
  [ -f "$prefix/lib/node_modules/npm/bin/npm-cli.js" ] || die "no npm in $prefix/lib/node_modules/npm"
  registry="$(host_npm_registry)"

  new_workdir
  w="$W"
  r="$w/rootfs"
  new_rootfs "$w"
  mkdir -p "$r/usr/local/bin" "$r/usr/local/lib/node_modules" "$r/usr/local/include" "$r/usr/local/etc"
  cp "$node_bin" "$r/usr/local/bin/node"
  cp -a "$prefix/lib/node_modules/npm" "$r/usr/local/lib/node_modules/npm"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$r/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$r/usr/local/bin/npx"
  if [ -f "$prefix/lib/node_modules/corepack/dist/corepack.js" ]; then
    cp -a "$prefix/lib/node_modules/corepack" "$r/usr/local/lib/node_modules/corepack"
    ln -s ../lib/node_modules/corepack/dist/corepack.js "$r/usr/local/bin/corepack"
  fi
  # Headers, as in the official tarball (node-gyp finds them next to the binary).
  [ -d "$prefix/include/node" ] && cp -a "$prefix/include/node" "$r/usr/local/include/node"
  chown -R 0:0 "$r/usr/local"

  # npm's global config ($PREFIX/etc/npmrc): the host's registry and its CA bundle.
  # No tokens, no proxy settings.
  printf 'registry=%s\ncafile=/etc/ssl/certs/ca-certificates.crt\nupdate-notifier=false\n' \
    "$registry" >"$r/usr/local/etc/npmrc"

  cat "$SEED_FILES/node/usr/local/bin/docker-entrypoint.sh" >"$r/usr/local/bin/docker-entrypoint.sh"
  chmod 755 "$r/usr/local/bin/docker-entrypoint.sh"

  in_rootfs "$r" '
    groupadd --gid 1000 node
    useradd --uid 1000 --gid node --shell /bin/bash --create-home node
  '
  finish_and_import "$w" "$image" "Node.js $version copied from the host, Debian $SUITE minbase" \
    --change "ENV PATH=$IMAGE_PATH" \
    --change "ENV NODE_VERSION=$version" \
    --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
    --change 'ENTRYPOINT ["docker-entrypoint.sh"]' \
    --change 'CMD ["node"]'
  docker run --rm --network host "$image" sh -c 'node --version && npm --version' >/dev/null ||
    die "the stand-in $image does not run node/npm"
}

# --- stand-in: nginxinc/nginx-unprivileged:1.28-bookworm ----------------------------
# Debian's nginx (1.22) laid out like the official unprivileged image: user nginx
# 101:101, runs as USER 101 on port 8080, pid /tmp/nginx.pid, temp paths in /tmp,
# /etc/nginx/conf.d/default.conf, logs to stdout/stderr, curl for HEALTHCHECKs,
# (no STOPSIGNAL SIGQUIT: this engine's `docker import --change` refuses it),
# /docker-entrypoint.sh running /docker-entrypoint.d/*.sh (templates via envsubst).
build_nginx() {
  local image="$1" w r version
  new_workdir
  w="$W"
  r="$w/rootfs"
  new_rootfs "$w"
  in_rootfs "$r" '
    groupadd --system --gid 101 nginx
    useradd --system --gid nginx --no-create-home --home /nonexistent --comment "nginx user" --shell /bin/false --uid 101 nginx
    { apt-get update && apt-get install -y --no-install-recommends nginx curl ca-certificates gettext-base; } \
      >/tmp/apt.log 2>&1 || { tail -30 /tmp/apt.log >&2; exit 1; }
    rm -rf /var/lib/apt/lists/*
    rm -f /etc/nginx/sites-enabled/default /etc/nginx/sites-available/default
    rm -rf /var/www/html
    mkdir -p /var/cache/nginx /var/log/nginx /var/lib/nginx /etc/nginx/conf.d /usr/share/nginx/html /docker-entrypoint.d
    ln -sf /dev/stdout /var/log/nginx/access.log
    ln -sf /dev/stderr /var/log/nginx/error.log
  '
  version="$(chroot "$r" /usr/sbin/nginx -v 2>&1 | sed -n 's#.*nginx/##p')"

  cat "$SEED_FILES/nginx/etc/nginx/nginx.conf" >"$r/etc/nginx/nginx.conf"
  cat "$SEED_FILES/nginx/etc/nginx/conf.d/default.conf" >"$r/etc/nginx/conf.d/default.conf"
  [ -f "$r/usr/share/nginx/html/index.html" ] ||
    printf '<!DOCTYPE html>\n<html><head><title>nginx</title></head><body><h1>nginx stand-in</h1></body></html>\n' \
      >"$r/usr/share/nginx/html/index.html"
  printf '<!DOCTYPE html>\n<html><head><title>Error</title></head><body><h1>An error occurred.</h1></body></html>\n' \
    >"$r/usr/share/nginx/html/50x.html"

  cat "$SEED_FILES/nginx/docker-entrypoint.sh" >"$r/docker-entrypoint.sh"
  cat "$SEED_FILES/nginx/docker-entrypoint.d/20-envsubst-on-templates.sh" >"$r/docker-entrypoint.d/20-envsubst-on-templates.sh"
  chmod 755 "$r/docker-entrypoint.sh" "$r/docker-entrypoint.d/20-envsubst-on-templates.sh"

  # Writable by uid 101 (group 0, g+w), like the official unprivileged image.
  chown -R -h 101:0 "$r/etc/nginx" "$r/var/cache/nginx" "$r/var/log/nginx" "$r/var/lib/nginx"
  chmod -R g+w "$r/etc/nginx" "$r/var/cache/nginx" "$r/var/lib/nginx"
  chmod 775 "$r/var/log/nginx"
  chmod 1777 "$r/tmp"

  finish_and_import "$w" "$image" "Debian $SUITE nginx $version as uid 101 on 8080" \
    --change "ENV PATH=$IMAGE_PATH" \
    --change 'ENTRYPOINT ["/docker-entrypoint.sh"]' \
    --change 'EXPOSE 8080' \
    --change 'USER 101' \
    --change 'CMD ["nginx", "-g", "daemon off;"]'
  docker run --rm --network host "$image" sh -c 'nginx -t -q && curl --version' >/dev/null ||
    die "the stand-in $image does not pass nginx -t"
}

build_standin() {
  case "$1" in
  node:20-*) build_node "$1" ;;
  nginxinc/nginx-unprivileged:*) build_nginx "$1" ;;
  *) die "no stand-in recipe for $1" ;;
  esac
}

image_size() {
  docker image inspect -f '{{.Size}}' "$1" | awk '{ printf "%.0f MB", $1 / 1000000 }'
}

# --- main -------------------------------------------------------------------------
ensure_engine
mkdir -p "$CACHE_DIR"
exec 9>"$CACHE_DIR/.seed.lock"
flock -w 1800 9 || die "another seed holds $CACHE_DIR/.seed.lock"
warn_about_proxies

status=0
for image in "${selected[@]}"; do
  t0="$(now)"
  how=""
  if [ "$FORCE" != 1 ] && docker image inspect "$image" >/dev/null 2>&1; then
    how="seeded from cache (present)"
  else
    if [ "$FORCE" = 1 ] && docker image inspect "$image" >/dev/null 2>&1; then
      docker image rm "$image" >/dev/null
    fi
    if [ "${SEED_NO_PULL:-0}" != 1 ]; then
      log "$image: docker pull (timeout ${PULL_TIMEOUT}s)"
      if pull_out="$(timeout "$PULL_TIMEOUT" docker pull -q "$image" 2>&1)"; then
        how="pulled"
      else
        log "$image: pull failed: $(printf '%s' "$pull_out" | tail -1 | cut -c1-160)"
      fi
    fi
    if [ -z "$how" ]; then
      log "$image: building a stand-in"
      prepare_base
      # A subshell with its own cleanup trap, run outside any `if` so that
      # errexit stays in force inside it.
      set +e
      (
        set -e
        trap cleanup EXIT
        build_standin "$image"
      )
      rc=$?
      set -e
      if [ "$rc" = 0 ]; then
        how="built stand-in"
      else
        how="FAILED"
        status=1
      fi
    fi
  fi
  size="-"
  [ "$how" = FAILED ] || size="$(image_size "$image")"
  printf '%-44s %-28s %6ss  %s\n' "$image" "$how" "$(elapsed "$t0")" "$size"
done
exit "$status"
