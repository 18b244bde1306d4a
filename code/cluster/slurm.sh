#!/usr/bin/env bash
# A single-node SLURM on this machine, from Debian's packages, without systemd:
#   code/cluster/slurm.sh start    install (apt, if missing), start munged, slurmctld, slurmd
#   code/cluster/slurm.sh status   what runs, and the node's state
#   code/cluster/slurm.sh stop     stop them; no daemon stays behind
#   code/cluster/slurm.sh env      the line to export: SLURM_CONF=... (commands read it)
# Each is idempotent. Its files (config, state, logs) live in $IMAGECLF_SLURM_DIR
# (default /var/tmp/imageclf-slurm). Needs root: it is a test cluster, not a real one.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=${IMAGECLF_SLURM_DIR:-/var/tmp/imageclf-slurm}
export SLURM_CONF="$dir/etc/slurm.conf"
munge_pid=/run/munge/munged.pid
say() { echo "slurm.sh: $*"; }
die() { echo "slurm.sh: $*" >&2; exit 1; }

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
node_state() { timeout 10 sinfo -h -o %t 2>/dev/null | head -n1; }

install_packages() {
  command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v sbatch >/dev/null \
    && command -v munged >/dev/null && return
  say "installing slurmctld slurmd slurm-client munge (apt)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurmctld slurmd slurm-client munge \
    >/dev/null
}

write_config() {
  mkdir -p "$dir"/{etc,state,spool,run,log}
  local cpus memory host
  cpus=$(nproc)
  # Less than the machine has: a node declaring more memory than it has is drained.
  memory=$(( $(awk '/^MemTotal/ {print int($2 / 1024)}' /proc/meminfo) * 8 / 10 ))
  host=$(hostname -s)
  sed -e "s|@HOST@|$host|g" -e "s|@DIR@|$dir|g" -e "s|@CPUS@|$cpus|g" \
      -e "s|@MEMORY@|$memory|g" "$here/slurm.conf" > "$SLURM_CONF.new"
  mv "$SLURM_CONF.new" "$SLURM_CONF"
  cp "$here/cgroup.conf" "$dir/etc/cgroup.conf"
}

start_munge() {
  if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    return  # someone's munged runs already: use it, and leave it to them
  fi
  install -d -o munge -g munge -m 0755 /run/munge
  runuser -u munge -- /usr/sbin/munged
  touch "$dir/run/munge.ours"  # stop ends only a munged this script started
  for _ in $(seq 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && return; sleep 0.1; done
  die "munged did not start: see /var/log/munge/munged.log"
}

start() {
  [ "$(id -u)" = 0 ] || die "needs root (a test cluster on this machine); on an HPC cluster \
use the cluster's own SLURM."
  install_packages
  if alive "$dir/run/slurmctld.pid" && alive "$dir/run/slurmd.pid"; then
    say "already running (node $(node_state))"
    return
  fi
  write_config
  start_munge
  alive "$dir/run/slurmctld.pid" || slurmctld
  alive "$dir/run/slurmd.pid" || slurmd
  for _ in $(seq 120); do
    case "$(node_state)" in
      idle|mix|alloc) say "node $(hostname -s) $(node_state); export SLURM_CONF=$SLURM_CONF"
                      return ;;
    esac
    sleep 0.5
  done
  die "the node did not become idle in 60 s: see $dir/log/slurmctld.log and slurmd.log"
}

stop_pid() {  # TERM a daemon by its pid file, wait until it is gone
  local file=$1
  alive "$file" || { rm -f "$file"; return 0; }
  local pid; pid=$(cat "$file")
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || { rm -f "$file"; return 0; }; sleep 0.1; done
  die "pid $pid ($file) did not stop in 10 s"
}

stop() {
  if alive "$dir/run/slurmctld.pid"; then
    timeout 10 scontrol shutdown >/dev/null 2>&1 || true
  fi
  stop_pid "$dir/run/slurmd.pid"
  stop_pid "$dir/run/slurmctld.pid"
  if [ -f "$dir/run/munge.ours" ]; then
    stop_pid "$munge_pid"
    rm -f "$dir/run/munge.ours"
  fi
  say "stopped"
}

status() {
  local daemon running=0
  for daemon in slurmctld slurmd; do
    if alive "$dir/run/$daemon.pid"; then
      say "$daemon running (pid $(cat "$dir/run/$daemon.pid"))"; running=$((running + 1))
    else
      say "$daemon not running"
    fi
  done
  if alive "$munge_pid"; then say "munged running (pid $(cat "$munge_pid"))"; fi
  [ "$running" = 2 ] || return 3
  say "node $(hostname -s): $(node_state); SLURM_CONF=$SLURM_CONF"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  env) echo "export SLURM_CONF=$SLURM_CONF" ;;
  *) die "usage: $0 start|status|stop|env" ;;
esac
