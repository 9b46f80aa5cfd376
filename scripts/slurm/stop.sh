#!/usr/bin/env bash
# Stops the cluster scripts/slurm/start.sh started: its slurmctld and slurmd (and munged, if it
# started that), by the pids it recorded. A killed daemon can linger as a zombie for a while:
# /proc/PID/stat's state tells, not kill -0.
set -uo pipefail
dir=${SAT_SLURM_DIR:-/tmp/sat-slurm}
say() { echo "[slurm] $*" >&2; }
running() { [ -r "/proc/$1/stat" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }

stop_pid() {
  local pid=$1 name=$2
  running "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 100); do running "$pid" || { say "stopped $name (pid $pid)"; return 0; }; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  for _ in $(seq 50); do running "$pid" || { say "killed $name (pid $pid)"; return 0; }; sleep 0.1; done
  say "$name (pid $pid) is still running"
  return 1
}

status=0
if [ -f "$dir/daemons.pid" ]; then
  while read -r pid; do [ -n "$pid" ] && { stop_pid "$pid" "slurm daemon" || status=1; }; done < "$dir/daemons.pid"
  rm -f "$dir/daemons.pid"
fi
if [ -f "$dir/munged.pid" ]; then
  stop_pid "$(cat "$dir/munged.pid")" munged || status=1
  rm -f "$dir/munged.pid"
fi
exit $status
