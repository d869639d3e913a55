#!/usr/bin/env bash
# One commit per stage and the temporaries of killed runs (core/atomic.h), for sort and train:
# - sort killed after its commit journal is in place: the next sort finishes the commit first
#   (class folders and both tensor files from the same run); killed while writing a tensor file:
#   the previous outputs stay as they were;
# - temporaries a killed run left (`<output>.tmp.XXXXXX` files and folders) are removed by the
#   next run of the stage, but not one that a living process holds (flock);
# - a full disk (ulimit -f, SIGXFSZ ignored) in train's state write or sort's tensor write: one
#   error line, exit 1, the previous checkpoint, metrics and summary (or tensors and class
#   folders) untouched, no temporary left;
# - two `make $ART/stats.json` at once in one checkout (14 trials, each from nothing): both
#   succeed, and afterwards everything is up to date (neither deleted the other's artifact).
source "$(dirname "$0")/../lib.sh"
B=$ROOT/${BUILD:-build}/bin
for b in fetch sort stats train; do [ -x "$B/$b" ] || { skip commit_data "$B/$b not built"; finish; }; done
[ -f "$MINI" ] || { skip commit_data "no $MINI"; finish; }
# The sort and train cases run on a 250-image archive (tests/tools/mkarchive) when it is built:
# cifar-mini's 3,000 files take seconds per sort on a slow disk.
TOOLS_DIR=$ROOT/${BUILD:-build}/tests/tools
ARC=$MINI
[ -x "$TOOLS_DIR/mkarchive" ] && "$TOOLS_DIR/mkarchive" --classes 10 --train 20 --test 5 "$TMP/small.tgz" && ARC=$TMP/small.tgz
ART=$TMP/art
sums() { (cd "$1" && find cifar10 data -type f ! -name '*.tmp.*' | sort | xargs sha256sum) 2>/dev/null; }

"$B/sort" --archive "$ARC" --out "$ART" >/dev/null 2>"$TMP/sort.err" || { fail sort "$(cat "$TMP/sort.err")"; finish; }
sums "$ART" >"$TMP/ref.sums"

# Sort killed after the journal: nothing renamed yet; the next run rolls it forward first.
rm -rf "$ART/data" && mv "$ART/cifar10" "$TMP/old_tree"
CIFAR_TEST_KILL=journal:sort.commit:1 "$B/sort" --archive "$ARC" --out "$ART" >/dev/null 2>&1; rc=$?
[ "$rc" -eq 137 ] && [ -e "$ART/sort.commit" ] && [ ! -e "$ART/cifar10" ] && [ ! -e "$ART/data/train.safetensors" ] &&
  pass "sort killed after its journal: nothing visible yet" || fail "sort killed after its journal" "exit $rc: $(ls "$ART")"
CIFAR_TEST_KILL=rename:train.safetensors:1 "$B/sort" --archive "$ARC" --out "$ART" >/dev/null 2>"$TMP/sort2.err"; rc=$?
[ "$rc" -eq 137 ] && grep -q 'finished the commit of 3 outputs' "$TMP/sort2.err" && cmp -s <(sums "$ART") "$TMP/ref.sums" &&
  [ ! -e "$ART/sort.commit" ] && pass "the next sort finishes the commit (tree and tensors of one run)" ||
  fail "sort journal roll-forward" "exit $rc: $(cat "$TMP/sort2.err")"
# ... and that run, killed in its own tensor write, changed nothing: its temporaries are left
left=$(find "$ART" -maxdepth 2 -name '*.tmp.*' | wc -l)
[ "$left" -ge 1 ] && cmp -s <(sums "$ART") "$TMP/ref.sums" && pass "sort killed in a tensor write: outputs unchanged" ||
  fail "sort killed in a tensor write" "$left temporaries; $(sums "$ART" | diff - "$TMP/ref.sums" | head -3)"

# Stale temporaries go with the next run, a held one stays.
mkdir -p "$ART/cifar10.tmp.AbC123/train" && echo x >"$ART/cifar10.tmp.AbC123/train/1.png"
echo x >"$ART/data/test.safetensors.tmp.Zz9Zz9"
echo held >"$ART/data/train.safetensors.tmp.Held01"
( exec 9<"$ART/data/train.safetensors.tmp.Held01"; flock -x 9; : >"$TMP/held"; exec sleep 30 ) & holder=$!
while [ ! -e "$TMP/held" ]; do sleep 0.02; done
"$B/sort" --archive "$ARC" --out "$ART" >/dev/null 2>&1 || fail "sort after a kill" "exit $?"
left=$(cd "$ART" && find . -name '*.tmp.*' | sort | tr '\n' ' ')
[ "$left" = "./data/train.safetensors.tmp.Held01 " ] && pass "stale temporaries removed, the held one kept" ||
  fail "stale temporaries" "left: $left"
kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null
rm -f "$ART/data/train.safetensors.tmp.Held01"
cmp -s <(sums "$ART") "$TMP/ref.sums" && pass "sort output after the clean-up" || fail "sort output after the clean-up"

# A full disk: the previous outputs stay.
"$B/stats" --data "$ART/data/train.safetensors" --out "$ART/stats.json" >/dev/null || fail stats
cat >"$TMP/p.json" <<'JSON'
{"seed": 1, "batch_size": 64, "momentum": 0.9, "augment": {"pad": 4, "flip": true},
 "lr_find": {"start_lr": 1e-5, "end_lr": 10}, "limit_batches": 2, "phases": [{"lr": 0.03, "n_cycle": 1}]}
JSON
sed 's/"lr": 0.03/"lr": 0.02/' "$TMP/p.json" >"$TMP/p2.json"
train() { "$B/train" --model "$ROOT/models/convbnnet.json" --params "$1" --data "$ART/data" --stats "$ART/stats.json" \
            --threads 1 --ckpt "$TMP/t/m.ckpt" --metrics "$TMP/t/m.metrics.json" --summary "$TMP/t/m.summary.json" >/dev/null; }
train "$TMP/p.json" 2>/dev/null || fail "train" "exit $?"
mkdir -p "$TMP/before" && cp "$TMP"/t/m.ckpt "$TMP"/t/m.metrics.json "$TMP"/t/m.summary.json "$TMP/before/"
size=$(stat -c %s "$TMP/t/m.ckpt")
for limit in $((size / 2048)); do   # the first state write fails
  err=$( (trap '' XFSZ; ulimit -f "$limit"; train "$TMP/p2.json") 2>&1 ); rc=$?
  ok=1
  for f in m.ckpt m.metrics.json m.summary.json; do cmp -s "$TMP/before/$f" "$TMP/t/$f" || ok=0; done
  if [ "$rc" -eq 1 ] && [ "$(printf '%s\n' "$err" | grep -c .)" -eq 1 ] && printf '%s' "$err" | grep -q 'File too large' &&
     [ "$ok" -eq 1 ] && [ -z "$(find "$TMP/t" -name '*.tmp.*')" ]; then
    pass "full disk at ${limit} KiB: one line, previous outputs intact"
  else fail "full disk at ${limit} KiB" "exit $rc, unchanged=$ok: $err"; fi
done
err=$( (trap '' XFSZ; ulimit -f $(( $(stat -c %s "$ART/data/train.safetensors") / 2048 )); "$B/sort" --archive "$ARC" --out "$ART") 2>&1 >/dev/null ); rc=$?
err=$(printf '%s\n' "$err" | grep -v 'notes.txt: warning')   # mkarchive's stray entry
[ "$rc" -eq 1 ] && [ "$(printf '%s\n' "$err" | grep -c .)" -eq 1 ] && cmp -s <(sums "$ART") "$TMP/ref.sums" &&
  [ -z "$(find "$ART" -name '*.tmp.*')" ] && pass "sort on a full disk: one line, previous outputs intact" ||
  fail "sort on a full disk" "exit $rc: $err"

# Two makes at once in one checkout: 12 trials on a 250-image archive (tests/tools/mkarchive), 2 on
# cifar-mini (3,000 files: about 10 s a trial on a slow disk).
M() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$ROOT" --no-print-directory ART="$1" CIFAR_URL="file://$2" \
        -o build/bin/fetch -o build/bin/sort -o build/bin/stats "$1/stats.json" "${@:3}"; }
race() { # N ARCHIVE
  local bad="" a r1 r2 p1 p2
  for trial in $(seq 1 "$1"); do
    a=$TMP/race$trial
    M "$a" "$2" >"$TMP/m1.log" 2>&1 & p1=$!
    M "$a" "$2" >"$TMP/m2.log" 2>&1 & p2=$!
    wait "$p1"; r1=$?; wait "$p2"; r2=$?
    if [ "$r1" -ne 0 ] || [ "$r2" -ne 0 ]; then bad="$bad trial $trial: exits $r1 $r2: $(cat "$TMP/m1.log" "$TMP/m2.log" | grep -i error | head -2);"
    elif ! M "$a" "$2" -q >/dev/null 2>&1; then bad="$bad trial $trial: not up to date afterwards;"
    elif [ -n "$(find "$a" -name '*.tmp*')" ]; then bad="$bad trial $trial: temporaries left;"; fi
    rm -rf "$a"
  done
  [ -z "$bad" ] && pass "$1 trials of two concurrent makes of stats.json ($(basename "$2"))" || fail "concurrent makes" "$bad"
}
if [ "$ARC" != "$MINI" ]; then race 12 "$ARC"; else skip "concurrent makes on a small archive" "no $TOOLS_DIR/mkarchive"; fi
race 2 "$MINI"
finish
