#!/usr/bin/env bash
# A real full disk under sort, train and lrfind (a tmpfs filled until a given room is left; root
# only): every run at every room either finishes with the same bytes as a run with room, or
# ends with one line naming the file and "No space left on device", exit 1, and leaves:
# - a fresh output folder: nothing at all (no temporaries, no lock, no empty folders: a failed
#   stage removes the folders it made, core/fs.h), except train's and lrfind's last good state;
# - over outputs of an earlier run: those outputs, byte for byte;
# and then the same command with room finishes with the bytes of a run that always had room
# (train and lrfind resume from the state the full run kept: docs/determinism.md, same machine).
# (stats, evaluate and report: tests/cli/defects.sh; ulimit -f: tests/cli/commit_data.sh.)
source "$(dirname "$0")/../lib.sh"
for b in sort stats train lrfind; do [ -x "$BIN/$b" ] || { skip full_disk "$BIN/$b not built"; finish; }; done
[ -x "$TOOLS/mkarchive" ] || { skip full_disk "mkarchive not built"; finish; }
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
FULL=$TMP/full
full_disk "$FULL" 4096 4096 || { skip full_disk "not root, or no tmpfs"; finish; }

"$TOOLS/mkarchive" --classes 10 --train 10 --test 5 "$TMP/a.tgz" >/dev/null 2>&1 || { fail data "mkarchive failed"; finish; }
A=$TMP/art D=$TMP/art/data
"$BIN/sort" --archive "$TMP/a.tgz" --out "$A" >/dev/null 2>&1 &&
  "$BIN/stats" --data "$D/train.safetensors" --out "$A/stats.json" >/dev/null 2>&1 || { fail data "sort or stats failed"; finish; }
PY=$(command -v python3 || echo "$ROOT/.venv/bin/python")
"$PY" -c "import json; d=json.load(open('$ROOT/params/quick/simplenet.json')); d['device']='cpu'; json.dump(d, open('$TMP/p.json','w'))"

# tree_sums DIR: a sha256 line per file under DIR (the filler aside; metrics without their timings)
tree_sums() {
  local f
  (cd "$1" && find . -type f ! -name filler | sort | while read -r f; do
     case $f in
       *.metrics.json) printf '%s %s\n' "$(grep -Ev '"[a-z_]*seconds"|images_per_second"' "$f" | sha256sum | cut -c1-64)" "$f" ;;
       *) sha256sum "$f" ;;
     esac
   done)
}
n_late=0   # runs whose error matched their sweep's LATE pattern

# sweep NAME FRESH|OLD "ROOM..." KEEP LATE CMD...: CMD writes under $FULL/o; $TMP/ref holds what
# a run with room left there. KEEP: the file a failed run may leave in a fresh folder (its
# state; "-" for none). LATE: a pattern of the error of a run that got past its first outputs.
sweep() {
  local name=$1 mode=$2 rooms=$3 keep=$4 late=$5; shift 5
  local room err rc left case
  for room in $rooms; do
    case="${name}_${mode}_$room"
    rm -rf "$FULL/o"
    [ "$mode" = old ] && cp -a "$TMP/ref" "$FULL/o"
    full_disk_fill "$FULL" "$room"
    "$@" >/dev/null 2>"$TMP/err"; rc=$?
    if [ "$rc" -eq 0 ]; then
      [ "$(tree_sums "$FULL/o")" = "$(tree_sums "$TMP/ref")" ] && pass "$case" || fail "$case" "exit 0, outputs differ from a run with room"
      continue
    fi
    err=$(grep -v 'warning: not part of the CIFAR layout\|^ *[0-9]\|^epoch\|resuming at' "$TMP/err")
    left=$(cd "$FULL" && find . -mindepth 1 ! -name filler | sed 's|^\./||' | sort | tr '\n' ' ')
    [ -e "$FULL/o/$keep" ] && left=${left/"o o/$keep "/}   # the last good state, in its folder
    printf '%s\n' "$err" | grep -Eq "$late" && n_late=$((n_late + 1))
    if [ "$rc" -ne 1 ] || [ "$(printf '%s\n' "$err" | grep -c .)" -ne 1 ] ||
       ! printf '%s\n' "$err" | grep -Eq "^[a-z]+: $FULL/o/[^ ]+: (write failed|cannot write): No space left on device$"; then
      fail "$case" "exit $rc: $err"
    elif [ "$mode" = fresh ] && [ -n "$left" ]; then fail "$case" "left '$left': $err"
    elif [ "$mode" = old ] && [ "$(tree_sums "$FULL/o" | grep -v " \./$keep$")" != "$(tree_sums "$TMP/ref")" ]; then
      fail "$case" "the earlier outputs changed: $err"
    else
      # with room again the same command finishes with the bytes of a run that always had room
      rm -f "$FULL/filler"
      "$@" >/dev/null 2>&1 && [ "$(tree_sums "$FULL/o")" = "$(tree_sums "$TMP/ref")" ] && pass "$case" ||
        fail "$case" "the rerun with room did not give the outputs of a run with room"
    fi
  done
}

# --- sort: the class-folder tree (about 1.1 MiB here), then the two tensor files, one group
n_late=0
sort_run() { "$BIN/sort" --archive "$TMP/a.tgz" --out "$FULL/o"; }
"$BIN/sort" --archive "$TMP/a.tgz" --out "$TMP/ref" >/dev/null 2>&1 || fail sort_ref "sort failed"
sweep sort fresh "0 64 512 900 1000 1040 1060 1080 1100" - 'safetensors|sort\.commit' sort_run
sweep sort old "0 512 1000 1060 1100" - 'safetensors|sort\.commit' sort_run
[ $n_late -gt 0 ] && pass sort_full_disk_reached_tensors || fail sort_full_disk_reached_tensors "no run got past the class folders"

# --- train: the state at each epoch end (old and new at once: about 2 MiB), then checkpoint,
# metrics and summary, one group
train_run() { "$BIN/train" --model "$ROOT/models/simplenet.json" --params "$TMP/p.json" --data "$D" --stats "$A/stats.json" \
                --threads 2 --ckpt "$FULL/o/x.ckpt" --metrics "$FULL/o/x.metrics.json" --summary "$FULL/o/x.summary.json"; }
rm -rf "$TMP/ref" "$FULL/o" "$FULL/filler" && train_run >/dev/null 2>&1 && cp -a "$FULL/o" "$TMP/ref" || fail train_ref "train failed"
sweep train fresh "0 400 800 1000 1500 1900 1940" x.state 'x\.state' train_run
sweep train old "0 800 1500" x.state 'x\.state' train_run

# --- lrfind: its curve, after a state when the params ask for one every few iterations
lrfind_run() { "$BIN/lrfind" --model "$ROOT/models/simplenet.json" --params "$TMP/p.json" --data "$D" --stats "$A/stats.json" \
                 --threads 2 --out "$FULL/o/x.lrfind.json"; }
rm -rf "$TMP/ref" "$FULL/o" "$FULL/filler" && lrfind_run >/dev/null 2>&1 && cp -a "$FULL/o" "$TMP/ref" || fail lrfind_ref "lrfind failed"
sweep lrfind fresh "0 4 8" x.lrfind.state - lrfind_run
sweep lrfind old "0 4" x.lrfind.state - lrfind_run
finish
