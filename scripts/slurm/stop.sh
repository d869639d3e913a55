#!/usr/bin/env bash
# Stops the cluster scripts/slurm/start.sh DIR started: slurmd, slurmctld and munged, each by the
# pid in its pid file under DIR (nothing else is signalled), waiting up to 10 s for each to exit.
set -u
DIR=${1:?usage: scripts/slurm/stop.sh DIR}
for f in "$DIR/slurmd.pid" "$DIR/slurmctld.pid" "$DIR/munge/munged.pid"; do
  [ -s "$f" ] || continue
  pid=$(cat "$f")
  kill "$pid" 2>/dev/null || continue
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
done
exit 0
