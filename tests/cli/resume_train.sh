#!/usr/bin/env bash
# train stopped and resumed (docs/artifacts.md, "<arch>.state"): a run killed at any point and
# rerun with the same command ends with the checkpoint, summary and metrics (wall-clock fields
# aside) of an uninterrupted run, byte for byte: SIGKILL during the 2nd and 5th state write (the
# temporary written, not renamed), SIGKILL at a moment the test does not choose, SIGKILL during
# the checkpoint write and after the commit journal is in place (the rerun finishes the commit),
# and SIGTERM/SIGINT/SIGUSR1 (exit 75, one line saying how to resume). A state from another
# params file or a damaged one: one line, then a fresh run. A finished run leaves no state, no
# lock file and no temporary. Two runs for one checkpoint at once: the second waits, both end with the same bytes.
source "$(dirname "$0")/../lib.sh"
B=$ROOT/${BUILD:-build}/bin
for b in sort stats train; do [ -x "$B/$b" ] || { skip resume_train "$B/$b not built"; finish; }; done
ART=$TMP/art
mini_artifacts resume_train_data "$ART"

# 5 epochs over 3 phases (two optimizer resets), 5 batches each, a state every 2 iterations too.
cat >"$TMP/p.json" <<'JSON'
{"seed": 1, "batch_size": 64, "momentum": 0.9, "augment": {"pad": 4, "flip": true},
 "lr_find": {"start_lr": 1e-5, "end_lr": 10}, "limit_batches": 5, "state_every": 2,
 "phases": [{"lr": 0.03, "n_cycle": 1}, {"lr": 0.05, "n_cycle": 2, "cycle_len": 1, "wd": 1e-5},
            {"lr": 0.02, "n_cycle": 2, "wd": 1e-5}]}
JSON
# train DIR [PARAMS]: one run into DIR/m.*; stdout DIR/out, stderr DIR/err; returns train's status
train() { ( train_exec "$@" ); }
# train_exec: the same in place of the shell (`train_exec DIR &` makes $! train's own pid)
# train with the default actions of SIGINT and SIGTERM whatever this shell inherited: a runner may
# start it with SIGINT ignored (a background job of a non-interactive shell), and an inherited
# ignored signal stays ignored (checked below with SIGUSR1), which would void the SIGINT cases.
DEFAULT_SIGNALS=("${PYTHON:-python3}" -c 'import os, signal, sys
for s in (signal.SIGINT, signal.SIGTERM): signal.signal(s, signal.SIG_DFL)
os.execv(sys.argv[1], sys.argv[1:])')
train_exec() {
  mkdir -p "$1"
  exec "${DEFAULT_SIGNALS[@]}" "$B/train" --model "$ROOT/models/convbnnet.json" --params "${2:-$TMP/p.json}" --data "$ART/data" --stats "$ART/stats.json" \
    --threads 1 --ckpt "$1/m.ckpt" --metrics "$1/m.metrics.json" --summary "$1/m.summary.json" >"$1/out" 2>>"$1/err"
}
nowall() { grep -v -E '"[a-z_]*seconds"|"images_per_second"' "$1"; }
# same NAME DIR: DIR's outputs are the reference's, no state and no temporary is left
same() {
  local d=$2 why=""
  cmp -s "$TMP/ref/m.ckpt" "$d/m.ckpt" || why="$why checkpoint differs;"
  cmp -s "$TMP/ref/m.summary.json" "$d/m.summary.json" || why="$why summary differs;"
  cmp -s <(nowall "$TMP/ref/m.metrics.json") <(nowall "$d/m.metrics.json") || why="$why metrics differ;"
  [ ! -e "$d/m.state" ] || why="$why state left;"
  [ ! -e "$d/m.commit" ] || why="$why journal left;"
  [ ! -e "$d/m.lock" ] || why="$why lock file left;"
  [ -z "$(find "$d" -name '*.tmp.*')" ] || why="$why temporaries left: $(find "$d" -name '*.tmp.*');"
  [ -z "$why" ] && pass "$1" || fail "$1" "$why $(cat "$d/err")"
}
# until_done DIR: reruns (at most 10 times) until a run exits 0
until_done() { for _ in 1 2 3 4 5 6 7 8 9 10; do train "$1" && return 0; done; return 1; }

train "$TMP/ref" || { fail straight_run "$(cat "$TMP/ref/err")"; finish; }
[ ! -e "$TMP/ref/m.state" ] && pass "straight run removes its state" || fail "straight run removes its state"

# 1. SIGKILL at chosen points (core/atomic.h's test hook).
for point in rename:.state:2 rename:.state:5 rename:.ckpt:1 journal:.commit:1; do
  d=$TMP/kill_${point//[:.]/_}
  CIFAR_TEST_KILL=$point train "$d"; rc=$?
  if [ "$rc" -ne 137 ]; then fail "SIGKILL at $point" "exit $rc, expected 137: $(cat "$d/err")"; continue; fi
  case $point in
    rename:.ckpt*) [ ! -e "$d/m.metrics.json" ] && [ ! -e "$d/m.ckpt" ] && pass "killed in the checkpoint write: no output yet" ||
                     fail "killed in the checkpoint write: no output yet" "$(ls "$d")" ;;
    journal*) [ -e "$d/m.commit" ] && [ ! -e "$d/m.ckpt" ] && pass "killed after the journal: nothing renamed yet" ||
                fail "killed after the journal" "$(ls "$d")" ;;
  esac
  until_done "$d" || { fail "resume after SIGKILL at $point" "$(cat "$d/err")"; continue; }
  case $point in
    journal*) grep -q 'finished the commit' "$d/err" && pass "the rerun rolls the journal forward" ||
                fail "the rerun rolls the journal forward" "$(cat "$d/err")" ;;
    *) grep -q 'resuming at epoch' "$d/err" && pass "resumes after SIGKILL at $point" ||
         fail "resumes after SIGKILL at $point" "$(cat "$d/err")" ;;
  esac
  same "identical after SIGKILL at $point" "$d"
done

# 2. SIGKILL at an arbitrary moment, twice, then to the end.
d=$TMP/kill_any
for delay in 0.4 0.7; do
  train_exec "$d" & pid=$!
  sleep "$delay"; kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
done
until_done "$d" && same "identical after two SIGKILLs at arbitrary moments" "$d" ||
  fail "resume after SIGKILL" "$(cat "$d/err")"

# 3. Each stop signal, sent once the first state is on disk: exit 75, one line, then resume.
set -m   # background jobs keep SIGINT (a non-interactive shell would start them with it ignored)
for sig in TERM INT USR1; do
  d=$TMP/sig_$sig
  train_exec "$d" & pid=$!
  while [ ! -e "$d/m.state" ] && kill -0 "$pid" 2>/dev/null; do sleep 0.02; done
  kill -"$sig" "$pid"; wait "$pid"; rc=$?
  if [ "$rc" -eq 75 ] && [ "$(grep -c . "$d/err")" -eq 1 ] && grep -q "SIG$sig: stopped at epoch .*again to resume" "$d/err" &&
     [ -e "$d/m.state" ] && [ ! -e "$d/m.ckpt" ]; then
    pass "SIG$sig: exit 75, state saved, one line"
  else fail "SIG$sig: exit 75" "exit $rc: $(cat "$d/err")"; fi
  until_done "$d" && same "identical after SIG$sig" "$d" || fail "resume after SIG$sig" "$(cat "$d/err")"
done

# A second signal ends the run at once: killed by it, no temporary left, the saved state kept.
d=$TMP/sig_twice
train_exec "$d" & pid=$!
while [ ! -e "$d/m.state" ] && kill -0 "$pid" 2>/dev/null; do sleep 0.02; done
# two different signals (two of one kind may merge into one while pending); either is delivered second
kill -TERM "$pid"; kill -INT "$pid"; wait "$pid"; rc=$?
{ [ "$rc" -eq 143 ] || [ "$rc" -eq 130 ]; } && [ -z "$(find "$d" -name '*.tmp.*')" ] && [ -e "$d/m.state" ] &&
  pass "second signal: ends at once, no temporary left" || fail "second signal" "exit $rc: $(ls "$d"; cat "$d/err")"
until_done "$d" && same "identical after two signals" "$d" || fail "resume after two signals" "$(cat "$d/err")"

# An inherited ignored signal stays ignored.
d=$TMP/sig_ignored
( trap '' USR1; train_exec "$d" ) & pid=$!
while [ ! -e "$d/m.state" ] && kill -0 "$pid" 2>/dev/null; do sleep 0.02; done
kill -USR1 "$pid" 2>/dev/null; wait "$pid"; rc=$?
[ "$rc" -eq 0 ] && [ -e "$d/m.ckpt" ] && pass "ignored SIGUSR1 stays ignored" || fail "ignored SIGUSR1" "exit $rc: $(cat "$d/err")"
set +m

# 4. A state that must not be resumed: one line naming the file and what differs, a fresh run.
d=$TMP/other
CIFAR_TEST_KILL=rename:.state:3 train "$d"
sed 's/"lr": 0.02/"lr": 0.021/' "$TMP/p.json" >"$TMP/p2.json"
cp "$d/m.state" "$TMP/saved.state"
: >"$d/err"
train "$d" "$TMP/p2.json"; rc=$?
w=$(grep -c . "$d/err")
[ "$rc" -eq 0 ] && grep -q "m.state: warning: not resumed: saved by a run with another params file (params_sha256 differs); starting over" "$d/err" &&
  [ "$w" -eq 2 ] && pass "other params: one line, starts over" || fail "other params" "exit $rc: $(cat "$d/err")"
train "$TMP/ref2" "$TMP/p2.json" && cmp -s "$d/m.ckpt" "$TMP/ref2/m.ckpt" && pass "other params: the fresh run's checkpoint" ||
  fail "other params: fresh run" "differs from a straight run with those params"
rm -f "$d"/m.* && head -c 3000 "$TMP/saved.state" >"$d/m.state" && : >"$d/err"
train "$d"; rc=$?
[ "$rc" -eq 0 ] && grep -q "m.state: warning: not resumed: .*; starting over" "$d/err" && [ "$(grep -c . "$d/err")" -eq 2 ] &&
  pass "damaged state: one line, starts over" || fail "damaged state" "exit $rc: $(cat "$d/err")"
same "identical after a damaged state" "$d"

# 5. Two runs for one checkpoint at once: the lock serialises them.
d=$TMP/twice
train_exec "$d" & p1=$!
train_exec "$d" & p2=$!
wait "$p1"; r1=$?; wait "$p2"; r2=$?
[ "$r1" -eq 0 ] && [ "$r2" -eq 0 ] && same "two concurrent runs: both succeed, same bytes" "$d" ||
  fail "two concurrent runs" "exits $r1 $r2: $(cat "$d/err")"
finish
