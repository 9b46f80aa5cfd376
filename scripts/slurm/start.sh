#!/usr/bin/env bash
# Starts a single-node Slurm cluster on localhost for tests and CI: munged, slurmctld and slurmd
# from Debian's packages (slurmctld slurmd slurm-client munge), state under a scratch folder that
# is wiped on start (or old jobs come back). Needs root (SlurmUser=root, munge runs as munge).
# Prints the line to eval:   eval "$(scripts/slurm/start.sh)"   -> export SLURM_CONF=...
# Stop it with scripts/slurm/stop.sh (by the pids this script recorded).
set -euo pipefail
dir=${SAT_SLURM_DIR:-/tmp/sat-slurm}
here=$(cd "$(dirname "$0")" && pwd)
say() { echo "[slurm] $*" >&2; }

for exe in /usr/sbin/munged /usr/sbin/slurmctld /usr/sbin/slurmd; do
  [ -x "$exe" ] || { say "$exe not found: apt-get install -y --no-install-recommends slurmctld slurmd slurm-client munge"; exit 1; }
done
command -v sinfo >/dev/null || { say "sinfo not found: apt-get install -y --no-install-recommends slurm-client"; exit 1; }
[ "$(id -u)" = 0 ] || { say "needs root (slurmctld runs as SlurmUser=root, munged as the munge user)"; exit 1; }

"$here/stop.sh" >/dev/null 2>&1 || true
rm -rf "$dir"
mkdir -p "$dir/state" "$dir/spool" "$dir/log"

# munged refuses to run as root with the key; the package made the munge user and key.
install -d -o munge -g munge -m 0755 /run/munge
alive() { [ -r "/proc/$1/stat" ] && [ "$(awk '{print $3}' "/proc/$1/stat")" != Z ]; }
if [ -s /run/munge/munged.pid ] && alive "$(cat /run/munge/munged.pid)"; then
  say "munged already running (pid $(cat /run/munge/munged.pid)); using it"
else
  runuser -u munge -- /usr/sbin/munged
  for _ in $(seq 50); do [ -s /run/munge/munged.pid ] && break; sleep 0.1; done
  cat /run/munge/munged.pid > "$dir/munged.pid" # ours: stop.sh ends it
fi

cpus=$(nproc)
mem=$(awk '/MemAvailable/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)
conf="$dir/slurm.conf"
cat > "$conf" <<CONF
ClusterName=ci
SlurmctldHost=localhost
SlurmUser=root
AuthType=auth/munge
MpiDefault=none
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$conf

/usr/sbin/slurmctld -D -f "$conf" </dev/null >>"$dir/log/slurmctld.out" 2>&1 &
echo $! > "$dir/daemons.pid"
/usr/sbin/slurmd -D -N localhost -f "$conf" </dev/null >>"$dir/log/slurmd.out" 2>&1 &
echo $! >> "$dir/daemons.pid"

# Ready when the node is idle (a few seconds); say why not when it does not come up.
for _ in $(seq 120); do
  state=$(sinfo -h -o %t 2>/dev/null || true)
  [ "$state" = idle ] && { say "cluster up: 1 node, $cpus CPUs, ${mem} MB ($conf)"; echo "export SLURM_CONF=$conf"; exit 0; }
  sleep 0.5
done
say "the node did not become idle in 60 s (sinfo: '${state:-no answer}'); logs in $dir/log:"
tail -n 5 "$dir"/log/*.log "$dir"/log/*.out >&2 || true
"$here/stop.sh" >&2 || true
exit 1
