#!/usr/bin/env bash
# A Docker daemon (Debian's docker.io) started and stopped by hand, for machines without systemd
# (CI, containers): `code/container/dockerd.sh start|stop|status`. As root only.
#
# It leaves the host's firewall and networks alone (--iptables=false, --bridge=none): a default
# dockerd sets the FORWARD policy to DROP, which cuts podman's build containers (and anyone
# else's bridges on the machine) off the network. The project's containers run with
# `--network none` anyway; a build that needs the network (pip) runs with `--network host`
# (pipeline/image.py). Its log and pid file live in $DOCKERD_STATE (default /run/imageclf-dockerd).
set -euo pipefail
state="${DOCKERD_STATE:-/run/imageclf-dockerd}"
pidfile="$state/dockerd.pid"
log="$state/dockerd.log"
socket=/var/run/docker.sock

running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

case "${1:-}" in
start)
  [ "$(id -u)" = 0 ] || { echo "dockerd.sh start: run it as root (rootless Docker: docs/containers.md)" >&2; exit 1; }
  command -v dockerd >/dev/null || { echo "dockerd.sh: no dockerd; install Docker (Debian: apt-get install docker.io)" >&2; exit 1; }
  if running; then echo "dockerd already running (pid $(cat "$pidfile"))"; exit 0; fi
  if [ -S "$socket" ] && docker version >/dev/null 2>&1; then
    echo "A Docker daemon not started by dockerd.sh answers on $socket: using it (stop leaves it running)"
    exit 0
  fi
  mkdir -p "$state"
  # setsid: the daemon outlives this shell and no terminal's Ctrl-C reaches it.
  setsid dockerd --host "unix://$socket" --pidfile "$pidfile" \
    --iptables=false --ip-forward=false --ip-masq=false --bridge=none >"$log" 2>&1 </dev/null &
  for _ in $(seq 100); do
    docker version >/dev/null 2>&1 && { echo "dockerd started (pid $(cat "$pidfile"), log $log)"; exit 0; }
    sleep 0.3
  done
  echo "dockerd did not answer within 30 s; the end of $log:" >&2
  tail -20 "$log" >&2
  exit 1
  ;;
stop)
  running || { echo "dockerd (started by dockerd.sh) is not running"; exit 0; }
  pid="$(cat "$pidfile")"
  kill "$pid"
  # dockerd stops its containers and the containerd it started, then exits.
  for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || { echo "dockerd stopped"; exit 0; }; sleep 0.2; done
  echo "dockerd (pid $pid) did not stop within 30 s: killing it" >&2
  kill -KILL "$pid" 2>/dev/null || true
  ;;
status)
  if running; then echo "dockerd running (pid $(cat "$pidfile"))"; else echo "dockerd not running"; exit 3; fi
  ;;
*)
  echo "usage: $0 start|stop|status" >&2
  exit 2
  ;;
esac
