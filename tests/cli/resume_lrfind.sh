#!/usr/bin/env bash
# lrfind stopped and resumed: SIGKILL during the 2nd state write and SIGTERM once a state is on
# disk (exit 75, one line, no curve written), then a rerun continues the sweep and writes the
# curve of an uninterrupted sweep, byte for byte, and removes the state. A state from another
# model is not resumed (one line).
source "$(dirname "$0")/../lib.sh"
B=$ROOT/${BUILD:-build}/bin
for b in sort stats lrfind; do [ -x "$B/$b" ] || { skip resume_lrfind "$B/$b not built"; finish; }; done
ART=$TMP/art
mini_artifacts resume_lrfind_data "$ART"
cat >"$TMP/p.json" <<'JSON'
{"seed": 2, "batch_size": 64, "momentum": 0.9, "augment": {"pad": 4, "flip": true}, "state_every": 3,
 "lr_find": {"start_lr": 1e-4, "end_lr": 1, "limit_batches": 14}, "phases": [{"lr": 0.03, "n_cycle": 1}]}
JSON
# lrf_exec DIR [MODEL]: one sweep into DIR/c.lrfind.json, in place of the shell
lrf_exec() {
  mkdir -p "$1"
  exec "$B/lrfind" --model "$ROOT/models/${2:-convbnnet}.json" --params "$TMP/p.json" --data "$ART/data" \
    --stats "$ART/stats.json" --threads 1 --out "$1/c.lrfind.json" >/dev/null 2>>"$1/err"
}
lrf() { ( lrf_exec "$@" ); }
same() {
  if cmp -s "$TMP/ref/c.lrfind.json" "$2/c.lrfind.json" && [ ! -e "$2/c.lrfind.state" ] && [ -z "$(find "$2" -name '*.tmp.*')" ]
  then pass "$1"; else fail "$1" "$(ls "$2"; cat "$2/err")"; fi
}
lrf "$TMP/ref" || { fail straight_sweep "$(cat "$TMP/ref/err")"; finish; }

d=$TMP/kill
CIFAR_TEST_KILL=rename:.lrfind.state:2 lrf "$d"; rc=$?
[ "$rc" -eq 137 ] && [ -e "$d/c.lrfind.state" ] && [ ! -e "$d/c.lrfind.json" ] && pass "SIGKILL in the 2nd state write" ||
  fail "SIGKILL in the 2nd state write" "exit $rc: $(ls "$d")"
lrf "$d" && grep -q 'resuming the sweep at iteration 3 of 14' "$d/err" && same "identical curve after SIGKILL" "$d" ||
  fail "resume after SIGKILL" "$(cat "$d/err")"

set -m
d=$TMP/term
lrf_exec "$d" & pid=$!
while [ ! -e "$d/c.lrfind.state" ] && kill -0 "$pid" 2>/dev/null; do sleep 0.02; done
kill -TERM "$pid"; wait "$pid"; rc=$?
set +m
[ "$rc" -eq 75 ] && [ "$(grep -c . "$d/err")" -eq 1 ] && grep -q 'SIGTERM: stopped after .* again to resume' "$d/err" &&
  [ ! -e "$d/c.lrfind.json" ] && pass "SIGTERM: exit 75, one line, no curve" || fail "SIGTERM" "exit $rc: $(cat "$d/err")"
lrf "$d" && same "identical curve after SIGTERM" "$d" || fail "resume after SIGTERM" "$(cat "$d/err")"

d=$TMP/other
CIFAR_TEST_KILL=rename:.lrfind.state:2 lrf "$d"   # the first state stays
: >"$d/err"
lrf "$d" convnet && grep -q 'not resumed: saved by a run with another model file' "$d/err" &&
  pass "a state of another model: one line, starts over" || fail "state of another model" "$(cat "$d/err")"
finish
