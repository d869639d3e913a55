#!/usr/bin/env bash
# slurm: the pipeline's stages as Slurm job steps on a real one-node cluster started here from
# Debian's packages (scripts/slurm/start.sh: munged, slurmctld, slurmd on localhost, generated
# key and config, no cgroups), on ../shared/data/cifar-mini.tgz with PROFILE=quick in temporary
# ART/REP folders. `make report LAUNCH=srun` and a two-point sweep run every stage through srun;
# Slurm's own job completion log must record each stage under its name with exit code 0. Then a
# training step is cancelled (scancel) mid-run: Make must fail that target and leave no artifact
# of it; scripts/slurm/sweep.sbatch runs a sweep inside one allocation, and on USR1 (the signal
# before its time limit) fails the running point's target and requeues itself. The cluster is
# stopped at the end. When the daemons cannot start this FAILS with their
# logs (never skips): CI runs it as root, like this machine.
source "$(dirname "$0")/../lib.sh"
cd "$ROOT"
B=${BUILD:-build}
C=$TMP/slurm
trap '"$ROOT/scripts/slurm/stop.sh" "$C"; rm -rf "$TMP"' EXIT

for b in fetch sort stats lrfind train evaluate report sweep; do
  [ -x "$B/bin/$b" ] || { fail slurm "$B/bin/$b not built (run make)"; finish; }
done
[ -f "$MINI" ] || { fail slurm "no $MINI"; finish; }
if out=$(scripts/slurm/start.sh "$C" 2>&1); then pass cluster_starts
else fail cluster_starts "the local Slurm cluster did not start:"; printf '%s\n' "$out" | sed 's/^/    /'; finish; fi
export SLURM_CONF=$C/slurm.conf
LOG=$C/jobcomp.log

A=$TMP/art R=$TMP/rep S=$TMP/sweeps
mkdir -p "$S"
MK=(make --no-print-directory PROFILE=quick ART="$A" REP="$R" SWEEP_DIR="$S" CIFAR_URL="file://$MINI" THREADS=1)
export OMP_NUM_THREADS=1

# completed NAME: how many jobs named NAME Slurm recorded as COMPLETED with exit code 0:0.
completed() { grep -c " Name=$1 JobState=COMPLETED .* ExitCode=0:0" "$LOG" 2>/dev/null; }
# wait_records N: until the log holds N records (slurmctld writes each as its job ends).
wait_records() { for _ in $(seq 1 30); do [ "$(grep -c . "$LOG" 2>/dev/null || echo 0)" -ge "$1" ] && return; sleep 0.5; done; }
check_counts() { # name  stage=count...
  local name=$1 bad="" kv; shift
  local total=0; for kv in "$@"; do total=$((total + ${kv#*=})); done
  wait_records "$total"
  for kv in "$@"; do
    local got; got=$(completed "${kv%%=*}")
    [ "$got" = "${kv#*=}" ] || bad="$bad ${kv%%=*}: $got of ${kv#*=} completed with 0:0;"
  done
  local other; other=$(grep -vc "JobState=COMPLETED .* ExitCode=0:0" "$LOG")
  [ "$other" -eq 0 ] || bad="$bad $other other records: $(grep -v 'JobState=COMPLETED' "$LOG" | cut -c1-160 | head -n 2)"
  [ -z "$bad" ] && pass "$name" || fail "$name" "$bad"
}

# --- the whole pipeline, every stage a job of its own (srun on a "login node") ---------------
if "${MK[@]}" -j2 report LAUNCH=srun >"$TMP/report.log" 2>&1; then pass make_report_through_srun
else fail make_report_through_srun "$(tail -n 8 "$TMP/report.log")"; finish; fi
n=$(ls models/*.json | wc -l)
check_counts every_stage_a_slurm_job fetch=1 sort=1 stats=1 lrfind=$n train=$n evaluate=$n report=1
check_page slurm_page_valid "$R"

# --- a two-point sweep through srun --------------------------------------------------------
printf '{"model": "simplenet", "params": "simplenet", "grid": {"phases.0.lr": [0.01, 0.05]}}\n' > "$S/two.json"
if "${MK[@]}" -j2 sweep SWEEP=two LAUNCH=srun >"$TMP/sweep.log" 2>&1; then pass make_sweep_through_srun
else fail make_sweep_through_srun "$(tail -n 8 "$TMP/sweep.log")"; finish; fi
check_counts sweep_stages_slurm_jobs fetch=1 sort=1 stats=1 lrfind=$n train=$((n + 2)) evaluate=$((n + 2)) report=2 sweep=1
ls "$A"/sweeps/two/*.eval.json 2>/dev/null | wc -l | grep -qx 2 && grep -q 'id="sweep-two"' "$R/index.html" &&
  pass sweep_in_report || fail sweep_in_report "$(ls "$A"/sweeps/two)"

# --- the ready batch script: the same sweep grown by one point, inside one allocation ------------
printf '{"model": "simplenet", "params": "simplenet", "grid": {"phases.0.lr": [0.01, 0.05, 0.1]}}\n' > "$S/two.json"
if out=$(sbatch --wait --parsable --nodes=1 --ntasks-per-node=2 --cpus-per-task=1 --time=10 --output="$TMP/sbatch.out" \
           --export=ALL,SWEEP=two,PROFILE=quick,MAKE_ARGS="ART=$A REP=$R SWEEP_DIR=$S CIFAR_URL=file://$MINI" \
           scripts/slurm/sweep.sbatch 2>&1) &&
   [ -s "$A/sweeps/two/phases.0.lr-0.1.eval.json" ]; then pass sbatch_script_runs_sweep
else fail sbatch_script_runs_sweep "$out: $(tail -n 5 "$TMP/sbatch.out" 2>/dev/null)"; fi
wait_records $((3 + 3 * n + 7))
grep -q "Name=cifar-sweep JobState=COMPLETED .* ExitCode=0:0" "$LOG" && pass sbatch_job_completed ||
  fail sbatch_job_completed "$(grep 'Name=cifar-sweep' "$LOG" | cut -c1-160)"

# --- scancel a training step mid-run: the target fails and leaves nothing ---------------------
printf '{"model": "resnet2", "params": "resnet2", "grid": {"phases.0.n_cycle": [200]}}\n' > "$S/long.json"
# Everything else is up to date, so the one training job that runs is the point's.
p=$("${MK[@]}" -n sweep SWEEP=long 2>&1 | grep -oE '^'"$B"'/bin/(fetch|sort|stats|lrfind|train|evaluate)' | sort | uniq -c | xargs)
[ "$p" = "1 $B/bin/evaluate 1 $B/bin/train" ] || fail scancel_plan "the long sweep plans more than its point: $p"
"${MK[@]}" sweep SWEEP=long LAUNCH=srun >"$TMP/long.log" 2>&1 &
make_pid=$!
job=""
for _ in $(seq 1 240); do
  job=$(squeue -h -n train -t RUNNING -o %i 2>/dev/null | head -n 1)
  [ -n "$job" ] && break
  kill -0 $make_pid 2>/dev/null || break
  sleep 0.5
done
if [ -z "$job" ]; then
  fail scancel_fails_target "no running train job appeared: $(tail -n 3 "$TMP/long.log")"
else
  sleep 2   # let it train for a while
  scancel "$job"
  wait $make_pid; rc=$?
  D=$A/sweeps/long P=phases.0.n_cycle-200
  left=$(ls "$D"/$P.ckpt "$D"/$P.metrics.json "$D"/$P.summary.json "$D"/$P.eval.json 2>/dev/null | xargs)
  if [ "$rc" -eq 0 ]; then fail scancel_fails_target "make exited 0 after scancel"
  elif ! grep -q "\*\*\* \[.*$P.ckpt\] Error" "$TMP/long.log"; then fail scancel_fails_target "no failed ckpt target in: $(tail -n 4 "$TMP/long.log")"
  elif [ -n "$left" ]; then fail scancel_fails_target "artifacts left: $left"
  else pass scancel_fails_target; fi
  wait_records $((3 + 3 * n + 9))
  grep -q "JobId=$job .* Name=train JobState=CANCELLED" "$LOG" && pass slurm_records_cancel ||
    fail slurm_records_cancel "$(grep "JobId=$job " "$LOG" | cut -c1-160)"
  [ -s "$D/$P.params.json" ] && pass cancelled_point_keeps_its_params || fail cancelled_point_keeps_its_params "no $D/$P.params.json"
fi
# --- the batch script near its time limit: USR1 to the batch shell (what --signal=B:USR1@120
# sends), passed on to the running training step; Make fails that target, the job is requeued ----
if j=$(sbatch --parsable --nodes=1 --ntasks-per-node=1 --cpus-per-task=1 --time=10 --output="$TMP/requeue.out" \
         --export=ALL,SWEEP=long,PROFILE=quick,MAKE_ARGS="ART=$A REP=$R SWEEP_DIR=$S CIFAR_URL=file://$MINI" \
         scripts/slurm/sweep.sbatch 2>&1); then
  for _ in $(seq 1 120); do squeue -h -s -j "$j" -o '%j' 2>/dev/null | grep -qx train && break; sleep 0.5; done
  sleep 2
  scancel --signal=USR1 --batch "$j"
  state=""
  for _ in $(seq 1 60); do
    state=$(squeue -h -j "$j" -o %T 2>/dev/null)
    [ "$state" = PENDING ] && break
    sleep 0.5
  done
  scancel "$j"
  P=phases.0.n_cycle-200
  if [ "$state" != PENDING ]; then fail usr1_requeues "job $j is '$state', not requeued: $(tail -n 3 "$TMP/requeue.out")"
  elif ! grep -q "\*\*\* \[.*$P.ckpt\] Error" "$TMP/requeue.out"; then fail usr1_requeues "no failed ckpt target: $(tail -n 3 "$TMP/requeue.out")"
  elif ls "$A/sweeps/long/$P.ckpt" >/dev/null 2>&1; then fail usr1_requeues "checkpoint written"
  else pass usr1_requeues; fi
else fail usr1_requeues "sbatch: $j"; fi
no_leftovers slurm_no_temporaries "$A"
finish
