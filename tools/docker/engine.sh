#!/usr/bin/env bash
# The container engine for docker grid rows: a local dockerd and the base image.
#
#   tools/docker/engine.sh up      install docker.io/debootstrap if missing, start dockerd (idempotent)
#   tools/docker/engine.sh down    stop the dockerd this script started (by its PID file)
#   tools/docker/engine.sh status  say whether the daemon answers and the image exists
#   tools/docker/engine.sh image   build the base image when absent (debootstrap + docker import)
#   tools/docker/engine.sh ensure  up, then image (what tox runs before the grid and the tests)
#
# No registry is needed: the image is a Debian bookworm rootfs from the Debian
# mirror, imported with `docker import`. The rootfs tarball is cached, so a
# rebuild (a new daemon, a pruned image) takes seconds.
set -euo pipefail

KC_HOME="${KC_HOME:-$HOME/.cache/keras-compat}"
STATE="${KC_DOCKER_STATE:-$KC_HOME/docker}"
IMAGE="${KC_DOCKER_IMAGE:-keras-compat/bookworm:py3.11}"
SUITE=bookworm
MIRROR="${KC_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
# python3 for the harness; libstdc++6/libgomp1 for TF and numpy wheels; procps for debugging.
PACKAGES=python3,libstdc++6,libgomp1,procps
ROOTFS_TAR="$STATE/rootfs-$SUITE-$(echo "$PACKAGES" | tr ',' '_').tar"
PIDFILE="$STATE/dockerd.pid"
LOG="$STATE/dockerd.log"

say() { echo "engine: $*" >&2; }

need_root() {
  if [ "$(id -u)" != 0 ]; then
    say "$1 needs root (run it as root or with sudo)"
    exit 1
  fi
}

apt_install() {
  need_root "installing $*"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -qq "$@" >/dev/null 2>&1; then
    apt-get update -qq
    apt-get install -y -qq "$@" >/dev/null
  fi
}

answers() { timeout 10 docker info >/dev/null 2>&1; }

running() {
  [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null
}

up() {
  mkdir -p "$STATE"
  if answers; then
    say "dockerd answers already"
    return 0
  fi
  command -v dockerd >/dev/null 2>&1 || apt_install docker.io
  command -v debootstrap >/dev/null 2>&1 || apt_install debootstrap
  if running; then
    say "dockerd (pid $(cat "$PIDFILE")) is starting; waiting"
  else
    need_root "starting dockerd"
    local t0=$SECONDS
    # No iptables, no bridge: rows run with network_disabled, and this machine may not allow netfilter.
    setsid dockerd --iptables=false --ip-forward=false --bridge=none \
      --pidfile "$STATE/dockerd.own.pid" --data-root "${KC_DOCKER_DATA:-/var/lib/docker}" \
      >"$LOG" 2>&1 </dev/null &
    echo $! >"$PIDFILE"
    say "started dockerd (pid $!), log $LOG"
  fi
  for _ in $(seq 1 120); do
    if answers; then
      say "dockerd answers after $((SECONDS - ${t0:-SECONDS}))s"
      return 0
    fi
    running || { say "dockerd exited: $(tail -n 3 "$LOG" | tr '\n' ' ')"; exit 1; }
    sleep 0.5
  done
  say "dockerd does not answer after 60s; see $LOG"
  exit 1
}

down() {
  if running; then
    local pid
    pid=$(cat "$PIDFILE")
    # setsid may have forked: the daemon's own PID file names the process to stop
    [ -s "$STATE/dockerd.own.pid" ] && kill -0 "$(cat "$STATE/dockerd.own.pid")" 2>/dev/null && pid=$(cat "$STATE/dockerd.own.pid")
    kill "$pid"
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
    say "stopped dockerd (pid $pid)"
  else
    say "no dockerd started by this script is running"
  fi
  rm -f "$PIDFILE"
}

status() {
  if answers; then
    say "dockerd answers ($(docker info --format '{{.ServerVersion}}'))"
  else
    say "dockerd does not answer: run tools/docker/engine.sh up"
    return 1
  fi
  if docker image inspect "$IMAGE" >/dev/null 2>&1; then
    say "image $IMAGE: $(docker image inspect --format '{{.Id}}' "$IMAGE")"
  else
    say "image $IMAGE missing: run tools/docker/engine.sh image"
    return 1
  fi
}

image() {
  answers || { say "dockerd does not answer: run tools/docker/engine.sh up"; exit 1; }
  if docker image inspect "$IMAGE" >/dev/null 2>&1; then
    say "image $IMAGE exists"
    return 0
  fi
  local t0=$SECONDS
  if [ ! -s "$ROOTFS_TAR" ]; then
    command -v debootstrap >/dev/null 2>&1 || apt_install debootstrap
    need_root "debootstrap"
    local dir="$STATE/rootfs.building"
    rm -rf "$dir"
    debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$dir" "$MIRROR" >"$STATE/debootstrap.log" 2>&1 \
      || { say "debootstrap failed: $(tail -n 2 "$STATE/debootstrap.log" | tr '\n' ' ')"; exit 1; }
    # a smaller image: no apt lists, caches or docs
    rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/* "$dir"/usr/share/doc "$dir"/usr/share/man
    tar -C "$dir" -cf "$ROOTFS_TAR.tmp" .
    mv "$ROOTFS_TAR.tmp" "$ROOTFS_TAR"
    rm -rf "$dir"
    say "rootfs built in $((SECONDS - t0))s: $ROOTFS_TAR"
  fi
  docker import --change 'CMD ["python3"]' "$ROOTFS_TAR" "$IMAGE" >/dev/null
  say "image $IMAGE imported ($((SECONDS - t0))s): $(docker image inspect --format '{{.Id}}' "$IMAGE")"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  image) image ;;
  ensure) up && image ;;
  *) echo "usage: $0 up|down|status|image|ensure" >&2; exit 2 ;;
esac
