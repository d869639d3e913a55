#!/usr/bin/env bash
# defects: the hostile tester's findings of issue 11, each refused up front with one line naming
# the file and the key (or tensor), a nonzero exit and no output written: a schedule whose epoch
# count overflows, non-integers and NUL bytes in params and model files, model sizes beyond int,
# a model that does not fit the data (before its activations are allocated), a batch larger than
# the training set, non-finite weights and probabilities, and checkpoint metadata without a valid
# mean/std. Runs on a 100-image archive from tests/tools/mkarchive.
source "$(dirname "$0")/../lib.sh"
for b in "$BIN/sort" "$BIN/stats" "$BIN/train" "$BIN/lrfind" "$BIN/evaluate" "$BIN/summary" "$BIN/report" "$TOOLS/mkarchive"; do
  [ -x "$b" ] || { skip defects "$b not built"; finish; }
done
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
PY=$(command -v python3 || echo "$ROOT/.venv/bin/python")
A=$TMP/art D=$TMP/art/data
"$TOOLS/mkarchive" --classes 10 --train 10 --test 5 "$TMP/a.tgz" >/dev/null 2>&1 &&
  "$BIN/sort" --archive "$TMP/a.tgz" --out "$A" >/dev/null 2>&1 &&
  "$BIN/stats" --data "$D/train.safetensors" --out "$A/stats.json" >/dev/null 2>&1 || { fail data "could not build the test data"; finish; }

# params/model edits: edit SRC DST PYTHON (d is the JSON dict)
edit() { "$PY" -c "import json; d=json.load(open('$1')); $3; json.dump(d, open('$2', 'w'))"; }
P=$TMP/p.json M=$TMP/m.json O=$TMP/out
mkdir -p "$O"
cp "$ROOT/params/quick/simplenet.json" "$TMP/good.json"
edit "$TMP/good.json" "$TMP/good.json" 'd["device"] = "cpu"'
cp "$ROOT/models/simplenet.json" "$TMP/simplenet.json"
train() { "$BIN/train" --model "${MODEL:-$TMP/simplenet.json}" --params "${PARAMS:-$TMP/good.json}" --data "$D" \
            --stats "$A/stats.json" --threads 2 --ckpt "$O/x.ckpt" --metrics "$O/x.metrics.json" --summary "$O/x.summary.json"; }
lrfind() { "$BIN/lrfind" --model "${MODEL:-$TMP/simplenet.json}" --params "${PARAMS:-$TMP/good.json}" --data "$D" \
             --stats "$A/stats.json" --threads 2 --out "$O/x.lrfind.json"; }
evaluate() { "$BIN/evaluate" --model "${MODEL:-$TMP/simplenet.json}" --ckpt "$1" --params "$ROOT/params/quick/eval.json" \
               --data "$D" --stats "$A/stats.json" --threads 2 --eval "$O/x.eval.json" --probs "$O/x.probs.safetensors"; }

# --- schedule: 16 cycles with cycle_mult 20 are 20^16/19 epochs (wrapped past a long before)
edit "$TMP/good.json" "$P" 'd["phases"] = [{"lr": 0.01, "n_cycle": 16, "cycle_len": 1, "cycle_mult": 20}]'
PARAMS=$P expect_error schedule_epochs_overflow 'p\.json: phases\[0\]: more than 100000 epochs' train

# --- non-integers where integers are meant, and NUL bytes, in params and model files
edit "$TMP/good.json" "$P" 'd["batch_size"] = 64.5'
PARAMS=$P expect_error params_fraction 'p\.json: batch_size: must be an integer' train
sed 's/"seed": 0/"seed": 1e400/' "$TMP/good.json" > "$P"
PARAMS=$P expect_error params_infinite_integer 'p\.json: seed: must be an integer' train
"$PY" -c "s=open('$TMP/good.json').read(); open('$P','w').write(s.replace('\"cpu\"', '\"cpu\\0junk\"'))"
PARAMS=$P expect_error params_nul_in_string 'p\.json: invalid JSON at line 1: contains a NUL byte' train
printf '{"seed": 0\0, "batch_size": 64}' > "$P"
PARAMS=$P expect_error params_nul_between_tokens 'p\.json: invalid JSON at line 1: contains a NUL byte' train
edit "$TMP/simplenet.json" "$M" 'd["classes"] = 10.5'
expect_error model_classes_fraction 'm\.json: "classes" must be an integer' "$BIN/summary" "$M"
edit "$TMP/simplenet.json" "$M" 'd["input"] = [3, 32.7, 32]'
MODEL=$M expect_error model_input_fraction 'm\.json: input\[1\]: must be an integer' train
edit "$TMP/simplenet.json" "$M" 'd["layers"][3]["out"] = 1e10'
expect_error model_out_1e10 'm\.json: layers\[3\] \(layers\.1\): "out" = 10000000000 out of range' "$BIN/summary" "$M"
"$PY" -c "s=open('$TMP/simplenet.json').read(); open('$M','w').write(s.replace('simplenet', 'simple\\0net'))"
MODEL=$M expect_error model_nul 'm\.json: invalid JSON: contains a NUL byte' train
# 65536 channels of 4096x4096 before Flatten: 2^40 features, "0 features" in int before
edit "$TMP/simplenet.json" "$M" 'd["input"] = [3, 4096, 4096]; d["layers"][0:0] = [{"name": "c", "type": "Conv2d", "in": 3, "out": 65536, "kernel": 1}]'
expect_error model_features_beyond_int 'm\.json: layers\[0\] \(c\): output \[65536,4096,4096\] has 1099511627776 values per image' \
  "$BIN/summary" "$M"

# --- a model that does not fit the data: a shape mismatch, before anything is allocated (in
# the plain build a 4 GB address-space limit proves it: the 4096x4096 model's input alone needs
# 12 GB for a batch of 64; ASan reserves terabytes of shadow, so SAN=1 checks the message only)
limit() { if [ "${BUILD:-build}" = build-san ]; then "$@"; else (ulimit -v 4000000; "$@"); fi; }
H=$TMP/huge.json
edit "$TMP/simplenet.json" "$H" 'd["input"] = [3, 4096, 4096]; d["layers"][0:1] = [{"name": "c", "type": "Conv2d", "in": 3, "out": 8, "kernel": 8, "stride": 8}, {"name": "pool", "type": "AdaptiveMaxPool2d"}, {"type": "Flatten"}]; d["layers"][3]["in"] = 8'
MODEL=$H expect_error train_huge_input_mismatch 'train: .*data/train\.safetensors: images are 32x32x3, model .*huge\.json takes 4096x4096x3' limit train
MODEL=$H expect_error lrfind_huge_input_mismatch 'lrfind: .*data/train\.safetensors: images are 32x32x3, model .*huge\.json takes 4096x4096x3' limit lrfind
for shape in "28 28 3" "32 32 4"; do
  set -- $shape
  edit "$TMP/simplenet.json" "$M" "d['input'] = [$3, $1, $2]; d['layers'][1]['in'] = $1 * $2 * $3"
  MODEL=$M expect_error "train_input_${1}x${2}x${3}" "images are 32x32x3, model .*m\\.json takes ${1}x${2}x${3}" train
done
MODEL=$M expect_error lrfind_input_32x32x4 'images are 32x32x3, model .*m\.json takes 32x32x4' lrfind

# --- a batch larger than the training set: refused before training starts
edit "$TMP/good.json" "$P" 'd["batch_size"] = 4096'
PARAMS=$P expect_error train_batch_above_data 'p\.json: batch_size: 4096 is more than the 100 training images' train
PARAMS=$P expect_error lrfind_batch_above_data 'p\.json: batch_size: 4096 is more than the 100 training images' lrfind
if ls "$O"/x.* >/dev/null 2>&1; then fail refused_runs_write_nothing "$(ls "$O")"; else pass refused_runs_write_nothing; fi

# --- evaluate: a trained checkpoint, then copies with NaN weights, overflowing weights and bad metadata
if ! train >/dev/null 2>&1; then fail train_runs "train failed on the test data"; finish; fi
pass train_runs
cp "$O/x.ckpt" "$TMP/good.ckpt"
rm -f "$O"/x.*
# set_f32 SRC DST TENSOR FIRST COUNT VALUE: a copy of a safetensors file with COUNT floats of
# TENSOR from element FIRST (COUNT 0: to the end) set to VALUE, in place (the header is kept)
set_f32() {
  "$PY" - "$@" <<'PY'
import json, struct, sys
src, dst, name, first, count, value = sys.argv[1:7]
b = bytearray(open(src, 'rb').read())
n = struct.unpack('<Q', b[:8])[0]
lo, hi = json.loads(b[8:8 + n])[name]['data_offsets']
first, count = int(first), int(count) or (hi - lo) // 4 - int(first)
at = 8 + n + lo + 4 * first
b[at:at + 4 * count] = struct.pack('<f', float(value)) * count
open(dst, 'wb').write(b)
PY
}
set_f32 "$TMP/good.ckpt" "$TMP/nan.ckpt" layers.0.weight 5 1 nan
expect_error evaluate_nan_weights 'evaluate: .*nan\.ckpt: layers\.0\.weight: element 5 is nan: the weights are not finite' \
  evaluate "$TMP/nan.ckpt"
# finite weights of 1e30 overflow the logits to infinity: no probability to score
set_f32 "$TMP/good.ckpt" "$TMP/huge.ckpt" layers.0.bias 0 0 1e30
set_f32 "$TMP/huge.ckpt" "$TMP/huge.ckpt" layers.1.weight 0 0 1e30
expect_error evaluate_nonfinite_output "evaluate: .*huge\\.ckpt: the model's log-probabilities are not finite" evaluate "$TMP/huge.ckpt"
# metadata edits of the same length (the header stays valid): renamed key, NaN, garbage
meta() { perl -0777 -pe "$2" "$TMP/good.ckpt" > "$TMP/$1.ckpt"; }
meta nomean 's/"mean":/"mea_":/'
meta nanmean 's/("mean":")([^"]*)/$1 . "nan,nan,nan(" . ("0" x (length($2) - 13)) . ")"/e'
meta junkstd 's/("std":")([^"]*)/$1 . ("x" x length($2))/e'
expect_error evaluate_meta_missing 'nomean\.ckpt: metadata "mean": missing' evaluate "$TMP/nomean.ckpt"
expect_error evaluate_meta_nan 'nanmean\.ckpt: metadata "mean": "nan,nan,nan\(0+' evaluate "$TMP/nanmean.ckpt"
expect_error evaluate_meta_garbage 'junkstd\.ckpt: metadata "std": "x+' evaluate "$TMP/junkstd.ckpt"
MODEL=$H expect_error evaluate_huge_input_mismatch 'evaluate: .*data/test\.safetensors: images are 32x32x3, model .*huge\.json takes 4096x4096x3' \
  limit evaluate "$TMP/good.ckpt"
MODEL=$M expect_error evaluate_input_mismatch 'evaluate: .*data/test\.safetensors: images are 32x32x3, model .*m\.json takes 32x32x4' \
  evaluate "$TMP/good.ckpt"
if ls "$O"/x.* >/dev/null 2>&1; then fail refused_evaluations_write_nothing "$(ls "$O")"; else pass refused_evaluations_write_nothing; fi

# ==== issue 22 items 7-8 and its hostile pass (wt-issue22b): make variables, params/model keys,
# eval params, launchers. Self-contained: uses $TMP/i22b/ and the helpers above only.
I=$TMP/i22b
mkdir -p "$I"
MK22=(make --no-print-directory -C "$ROOT")
# item 7: a quote in CIFAR_URL broke the recipe's quoting (sh: Unterminated quoted string); a
# quoted $(...) in it ran. Now the value reaches fetch as one word, and the stamp holds it as is.
cp "$TMP/a.tgz" "$I/x'y.tgz"
if "${MK22[@]}" ART="$I/m1" "CIFAR_URL=file://$I/x'y.tgz" "$I/m1/cifar.tgz" >"$I/m1.log" 2>&1 &&
   cmp -s "$TMP/a.tgz" "$I/m1/cifar.tgz" && [ "$(cat "$I/m1/fetch.url")" = "file://$I/x'y.tgz" ]; then pass make_url_with_quote
else fail make_url_with_quote "$(tail -n 2 "$I/m1.log")"; fi
"${MK22[@]}" ART="$I/m2" "CIFAR_URL=file://$I/nosuch'\$\$(touch $I/pwned)'\`touch $I/pwned2\`" "$I/m2/cifar.tgz" >"$I/m2.log" 2>&1
if [ -e "$I/pwned" ] || [ -e "$I/pwned2" ]; then fail make_url_not_executed "the URL's \$(...) ran"
elif ! grep -q "^fetch: file://$I/nosuch'\$(touch $I/pwned)'\`touch $I/pwned2\`: " "$I/m2.log"; then fail make_url_not_executed "$(tail -n 2 "$I/m2.log")"
else pass make_url_not_executed; fi
# values that cannot be passed safely are refused with one line naming the variable, before anything runs
nl='
'
refuse() { # name pattern VAR=value...
  local name=$1 pattern=$2; shift 2
  expect_error "make_refuses_$name" "\\*\\*\\* $pattern" "${MK22[@]}" ART="$I/m3" CIFAR_URL="file://$I/nosuch" "$@" "$I/m3/cifar.tgz"
}
refuse profile_quote "PROFILE=a'b: a name is letters" "PROFILE=a'b"
refuse profile_dotdot 'PROFILE=\.\.: a name is letters' PROFILE=..
refuse profile_two_words 'PROFILE=a b: must be one name' 'PROFILE=a b'
refuse archs_semicolon 'ARCHS=simplenet;true: a name' 'ARCHS=simplenet;true'
refuse art_blank "ART=$I/a b: a path here is one word" "ART=$I/a b"
refuse rep_quote "REP=r'x: a path here" "REP=r'x"
refuse params_colon 'PARAMS=p:q: a path here' 'PARAMS=p:q'
refuse threads_command 'THREADS=1;true: must be a whole number' 'THREADS=1;true'
refuse url_newline 'CIFAR_URL=a\\nb: must be one line' "CIFAR_URL=a${nl}b"
refuse launch_newline 'LAUNCH=srun\\ntrue: must be one line' "LAUNCH=srun${nl}true"
# ARCH (make summary) ran a $(...) in its for loop; a --cpus-per-task= of LAUNCH_TRAIN is pasted into
# every sweep point's evaluate command as its thread count
expect_error make_refuses_arch_subst '\*\*\* ARCH=\$\(touch [^ ]*pwned3\): a name' "${MK22[@]}" summary "ARCH=\$\$(touch $I/pwned3)"
[ ! -e "$I/pwned3" ] && pass make_arch_not_executed || fail make_arch_not_executed "ARCH's \$(...) ran"
expect_error make_refuses_launch_cpus '\*\*\* LAUNCH_TRAIN=srun --cpus-per-task=8;true: --cpus-per-task= must be a whole number' \
  "${MK22[@]}" -n sweep-plan SWEEP=lr PROFILE=quick ART="$I/m3" 'LAUNCH_TRAIN=srun --cpus-per-task=8;true'
[ ! -e "$I/m3" ] && pass make_refusals_write_nothing || fail make_refusals_write_nothing "$(find "$I/m3" | head -n 3 | xargs)"
# LAUNCH is a command prefix by design (word-split, run as is). A launcher that fails fails the
# target; one that exits 0 without running the program (LAUNCH=true) left make "done" with no file.
if "${MK22[@]}" ART="$I/m4" CIFAR_URL="file://$TMP/a.tgz" LAUNCH=false "$I/m4/cifar.tgz" >/dev/null 2>&1 || [ -e "$I/m4/cifar.tgz" ]
then fail make_launcher_fails "make exited 0 or left $I/m4/cifar.tgz"; else pass make_launcher_fails; fi
if "${MK22[@]}" ART="$I/m5" CIFAR_URL="file://$TMP/a.tgz" LAUNCH=true "$I/m5/cifar.tgz" >/dev/null 2>"$I/m5.err"; then
  fail make_launcher_runs_nothing "make exited 0 without $I/m5/cifar.tgz"
elif ! grep -q "^make: $I/m5/cifar.tgz: LAUNCH_FETCH exited 0 but it was not written" "$I/m5.err"; then
  fail make_launcher_runs_nothing "$(head -n 2 "$I/m5.err")"
else pass make_launcher_runs_nothing; fi
if "${MK22[@]}" ART="$I/m6" CIFAR_URL="file://$TMP/a.tgz" LAUNCH='env --' "$I/m6/cifar.tgz" >/dev/null 2>&1 &&
   cmp -s "$TMP/a.tgz" "$I/m6/cifar.tgz"; then pass make_launcher_prefix_runs; else fail make_launcher_prefix_runs "LAUNCH='env --' did not fetch"; fi
# A full disk (a 1 MiB tmpfs, filled; root only): stats and evaluate end with one line naming the
# file and ENOSPC, exit nonzero and leave nothing behind (sort and train: tests/cli/commit_data.sh).
FULL=$I/full
if full_disk "$FULL" 1024 0; then
  expect_error full_disk_stats "stats: $FULL/s\\.json: write failed: No space left on device" \
    "$BIN/stats" --data "$D/train.safetensors" --out "$FULL/s.json"
  err=$("$BIN/evaluate" --model "$TMP/simplenet.json" --ckpt "$TMP/good.ckpt" --params "$ROOT/params/quick/eval.json" \
          --data "$D" --stats "$A/stats.json" --threads 2 --eval "$FULL/x.eval.json" --probs "$FULL/x.probs.safetensors" 2>&1 >/dev/null)
  rc=$? left=$(full_disk_left "$FULL")
  full_disk_end "$FULL"
  if [ $rc -ne 0 ] && printf '%s\n' "$err" | grep -q "^evaluate: $FULL/x\\.probs\\.safetensors: write failed: No space left on device$" &&
     [ "$(printf '%s\n' "$err" | grep -vc ' pass\| view ')" = 1 ] && [ -z "$left" ]; then pass full_disk_evaluate
  else fail full_disk_evaluate "exit $rc, left '$left': $(printf '%s' "$err" | tail -n 2)"; fi
else skip full_disk "not root, or no tmpfs"; fi
# evaluate's two outputs are one group (issue 22d): on a 2 MiB tmpfs with 8 KiB left the probs
# (two pages) fit and the eval.json did not, and the probs stayed; with 12 KiB both fit but the
# journal does not. Both or neither: nothing is left but the filler, and the next run with room
# writes both.
for free in 8 12; do
  FULL=$I/full$free
  if ! full_disk "$FULL" 2048 "$free"; then skip "full_disk_evaluate_group_$free" "not root, or no tmpfs"; continue; fi
  err=$("$BIN/evaluate" --model "$TMP/simplenet.json" --ckpt "$TMP/good.ckpt" --params "$ROOT/params/quick/eval.json" \
          --data "$D" --stats "$A/stats.json" --threads 2 --eval "$FULL/x.eval.json" --probs "$FULL/x.probs.safetensors" 2>&1 >/dev/null)
  rc=$? left=$(full_disk_left "$FULL")
  err=$(printf '%s\n' "$err" | grep -v ' pass\| view ')
  if [ $rc -ne 0 ] && [ "$(printf '%s\n' "$err" | grep -c .)" = 1 ] &&
     printf '%s\n' "$err" | grep -q "^evaluate: $FULL/x\.[a-z.]*: write failed: No space left on device$" && [ -z "$left" ]
  then pass "full_disk_evaluate_group_$free"
  else fail "full_disk_evaluate_group_$free" "exit $rc, left '$left': $err"; fi
  rm -f "$FULL/filler"
  "$BIN/evaluate" --model "$TMP/simplenet.json" --ckpt "$TMP/good.ckpt" --params "$ROOT/params/quick/eval.json" \
    --data "$D" --stats "$A/stats.json" --threads 2 --eval "$FULL/x.eval.json" --probs "$FULL/x.probs.safetensors" >/dev/null 2>&1
  left=$(full_disk_left "$FULL")
  [ "$left" = "x.eval.json x.probs.safetensors " ] && pass "full_disk_evaluate_group_${free}_rerun" ||
    fail "full_disk_evaluate_group_${free}_rerun" "left '$left'"
  full_disk_end "$FULL"
done
# ==== end of the issue 22b block

# --- report: NaN probabilities beside an evaluation are refused, naming file and tensor; and
# the page without named architectures (the default list overflowed its array: SAN=1 sees it)
if ! command -v gnuplot >/dev/null; then skip report_nan_probs "gnuplot not installed"; finish; fi
train >/dev/null 2>&1 && evaluate "$O/x.ckpt" >/dev/null 2>&1 || { fail evaluate_runs "evaluate failed"; finish; }
for f in ckpt metrics.json summary.json eval.json probs.safetensors; do cp "$O/x.$f" "$A/simplenet.$f"; done
if "$BIN/report" --art "$A" --out "$TMP/rep" --models "$ROOT/models" >/dev/null 2>"$TMP/report.err"; then pass report_default_list
else fail report_default_list "$(cat "$TMP/report.err")"; fi
# A full disk under the report (a 1 MiB tmpfs with 0 to 300 KiB left; the page needs about 290).
# Its writers do not check each fprintf: the commit saw the stream's error flag and said
# "Input/output error" (issue 22e); it names the real reason. gnuplot exits 0 when it cannot
# write a PNG (an empty or cut file), and charts/ was swapped in before index.html was written:
# with 96-280 KiB left a fresh report left rep/charts/ with cut charts and no page, and over an
# old report it put new (cut) charts under the old page. Now charts/ and index.html are one
# commit group and every chart is decoded first: each run either draws a whole page, or fails
# with one line leaving nothing (fresh) or the old report byte for byte; a failed first report
# removes the rep/ folder it made. At least one run must get past the charts (fail on the page).
GOOD=$TMP/goodrep
"$BIN/report" --art "$A" --out "$GOOD" --models "$ROOT/models" simplenet >/dev/null 2>&1 || fail report_good "report failed"
FULL=$TMP/fullrep late=0
if full_disk "$FULL" 1024 0; then
  for old in fresh old; do
    for free in 0 32 64 96 128 160 200 240 260 280 284 288 300; do
      name="report_full_disk_${old}_$free"
      rm -rf "$FULL/rep"
      [ $old = old ] && cp -a "$GOOD" "$FULL/rep"
      full_disk_fill "$FULL" "$free"
      err=$("$BIN/report" --art "$A" --out "$FULL/rep" --models "$ROOT/models" simplenet 2>&1 >/dev/null); rc=$?
      left=$(full_disk_left "$FULL")
      if [ $rc -eq 0 ]; then
        cmp -s "$GOOD/index.html" "$FULL/rep/index.html" && diff -r "$GOOD/charts" "$FULL/rep/charts" >/dev/null &&
          pass "$name" || fail "$name" "exit 0 but the page differs from a report with room"
        continue
      fi
      case $err in *index.html:*|*index.commit:*) late=$((late + 1)) ;; esac
      if [ "$(printf '%s\n' "$err" | grep -c .)" != 1 ] ||
         ! printf '%s\n' "$err" | grep -Eq "^report: $FULL/rep/.*: (write failed: No space left on device|gnuplot did not write this chart whole \(is the disk full\?\): .+)$"
      then fail "$name" "exit $rc: $err"
      elif [ $old = fresh ] && [ -n "$left" ]; then fail "$name" "left '$left': $err"
      elif [ $old = old ] && ! diff -r "$GOOD" "$FULL/rep" >/dev/null; then fail "$name" "the old report changed: $err"
      elif [ $old = old ] && [ "$left" != "$(cd "$FULL" && find rep -mindepth 0 | sort | tr '\n' ' ')" ]; then fail "$name" "left '$left'"
      else pass "$name"; fi
    done
  done
  full_disk_end "$FULL"
  [ $late -gt 0 ] && pass report_full_disk_reached_page || fail report_full_disk_reached_page "no run got past the charts"
else skip report_full_disk "not root, or no tmpfs"; fi
# The page's commit group has a journal like every other (rep/index.commit, lock rep.lock): a
# report killed after it leaves the old page; the next one finishes the commit first. A forged
# journal is refused like train's, moving nothing.
J=$TMP/jrep
cp -a "$GOOD" "$J" && echo old >"$J/index.html"
CIFAR_TEST_KILL=journal:index.commit:1 "$BIN/report" --art "$A" --out "$J" --models "$ROOT/models" simplenet >/dev/null 2>&1; rc=$?
[ $rc -eq 137 ] && [ -e "$J/index.commit" ] && [ "$(cat "$J/index.html")" = old ] && pass report_killed_after_journal ||
  fail report_killed_after_journal "exit $rc: $(ls "$J" | tr '\n' ' ')"
"$BIN/report" --art "$A" --out "$J" --models "$ROOT/models" simplenet >/dev/null 2>"$TMP/jrep.err"; rc=$?
[ $rc -eq 0 ] && grep -q 'finished the commit of 2 outputs' "$TMP/jrep.err" && [ ! -e "$J/index.commit" ] && [ ! -e "$J.lock" ] &&
  diff -r "$GOOD" "$J" >/dev/null && pass report_journal_rolls_forward || fail report_journal_rolls_forward "exit $rc: $(cat "$TMP/jrep.err")"
echo victim >"$TMP/victim"
printf 'F\t%s\t%s/index.html\n' "$TMP/victim" "$J" >"$J/index.commit"
expect_error report_journal_forged "index\.commit: line 1: refusing to rename" \
  "$BIN/report" --art "$A" --out "$J" --models "$ROOT/models" simplenet
[ "$(cat "$TMP/victim")" = victim ] && [ -e "$J/index.commit" ] && cmp -s "$GOOD/index.html" "$J/index.html" &&
  pass report_journal_forged_moves_nothing ||
  fail report_journal_forged_moves_nothing "$(ls "$J")"
rm -rf "$J" "$TMP/victim"
# A FIFO or a folder in place of a model file report reads (issue 22b): nn/model.c opened it
# with fopen, so the FIFO blocked report for good (timeout: a hang fails) and the folder was
# "read error". Now one line saying what is there.
mkdir -p "$TMP/fmodels"
mkfifo "$TMP/fmodels/simplenet.json"
expect_error report_model_fifo 'fmodels/simplenet\.json: is a FIFO, not a regular file' \
  timeout -s KILL 30 "$BIN/report" --art "$A" --out "$TMP/frep" --models "$TMP/fmodels" simplenet
rm -f "$TMP/fmodels/simplenet.json" && mkdir "$TMP/fmodels/simplenet.json"
expect_error report_model_folder 'fmodels/simplenet\.json: is a folder, not a regular file' \
  timeout -s KILL 30 "$BIN/report" --art "$A" --out "$TMP/frep" --models "$TMP/fmodels" simplenet
rm -rf "$TMP/fmodels" "$TMP/frep"
set_f32 "$O/x.probs.safetensors" "$A/simplenet.probs.safetensors" probs 11 1 nan
expect_error report_nan_probs 'report: .*simplenet\.probs\.safetensors: probs: element 11 is nan: the probabilities are not finite' \
  "$BIN/report" --art "$A" --out "$TMP/rep2" --models "$ROOT/models" simplenet

# ==== issue 22 items 1-6 (commit journal, FIFOs, state positions and corruption, output folders,
# lock folders, signals in set-up). Self-contained: its own output folder $I, its own train
# wrapper (guarded by `timeout -s KILL`, so a hang fails the case instead of the suite).
I=$(cd "$TMP" && pwd -P)/i22
mkdir -p "$I"
T22=${T22_TIMEOUT:-300}
train22() { timeout -s KILL "$T22" "$BIN/train" --model "${MODEL:-$TMP/simplenet.json}" --params "${PARAMS:-$TMP/good.json}" \
              --data "${DATA:-$D}" --stats "${STATS:-$A/stats.json}" --threads 2 --ckpt "$I/x.ckpt" \
              --metrics "$I/x.metrics.json" --summary "$I/x.summary.json"; }
lrfind22() { timeout -s KILL "$T22" "$BIN/lrfind" --model "$TMP/simplenet.json" --params "${PARAMS:-$TMP/good.json}" \
               --data "$D" --stats "$A/stats.json" --threads 2 --out "$I/x.lrfind.json"; }
clean22() { rm -rf "$I" && mkdir -p "$I"; }

# --- item 1: the journal lists only renames of this stage's own temporaries into its outputs
echo victim > "$TMP/victim"
printf 'F\t%s\t%s/stolen\n' "$TMP/victim" "$I" > "$I/x.commit"
expect_error journal_foreign_file 'x\.commit: line 1: refusing to rename .*/victim to .*/stolen: the temporary is not in the output.s folder' train22
[ -f "$TMP/victim" ] && [ ! -e "$I/stolen" ] && [ -f "$I/x.commit" ] && pass journal_foreign_file_untouched ||
  fail journal_foreign_file_untouched "the victim moved or the journal went"
clean22
ln -s "$TMP/victim" "$I/x.ckpt.tmp.AbC123"
printf 'F\t%s/x.ckpt.tmp.AbC123\t%s/x.ckpt\n' "$I" "$I" > "$I/x.commit"
expect_error journal_symlink_temporary 'x\.commit: line 1: refusing .*: the temporary is not a regular file' train22
[ -f "$TMP/victim" ] && [ ! -e "$I/x.ckpt" ] && pass journal_symlink_not_followed || fail journal_symlink_not_followed "moved"
clean22
echo '{}' > "$I/x.state.tmp.AbC123"
printf 'F\t%s/x.state.tmp.AbC123\t%s/x.state\n' "$I" "$I" > "$I/x.commit"
expect_error journal_undeclared_output 'x\.commit: line 1: refusing .*: not an output of this stage' train22
printf 'F\t%s/../i22/x.ckpt.tmp.AbC123\t%s/../i22/x.ckpt\n' "$I" "$I" > "$I/x.commit"
expect_error journal_dotdot 'x\.commit: line 1: refusing .*: not a plain absolute path' train22
printf 'F\t%s/x.ckpt.tmp.AbC123\t/etc/x.ckpt\n' "$I" > "$I/x.commit"
expect_error journal_other_folder 'refusing .*: the temporary is not in the output.s folder' train22
# sort's journal (issue 22a): it allowed any rename under its --out folder, so a forged line
# moved another stage's temporary onto stats.json; now only its three outputs (cifar10/ and
# data/{train,test}.safetensors). Refused with one line, nothing renamed, the journal kept.
clean22
mkdir -p "$I/s/data"
echo forged > "$I/s/stats.json.tmp.AbC123"
printf 'F\t%s/s/stats.json.tmp.AbC123\t%s/s/stats.json\n' "$I" "$I" > "$I/s/sort.commit"
expect_error sort_journal_undeclared_output 'sort\.commit: line 1: refusing .*/stats\.json: not an output of this stage' \
  timeout -s KILL "$T22" "$BIN/sort" --archive "$TMP/a.tgz" --out "$I/s"
[ -f "$I/s/stats.json.tmp.AbC123" ] && [ ! -e "$I/s/stats.json" ] && [ -f "$I/s/sort.commit" ] &&
  pass sort_journal_undeclared_untouched || fail sort_journal_undeclared_untouched "renamed, or the journal went"
echo forged > "$I/s/data/val.safetensors.tmp.AbC123"
printf 'F\t%s/s/data/val.safetensors.tmp.AbC123\t%s/s/data/val.safetensors\n' "$I" "$I" > "$I/s/sort.commit"
expect_error sort_journal_undeclared_tensor 'sort\.commit: line 1: refusing .*/val\.safetensors: not an output of this stage' \
  timeout -s KILL "$T22" "$BIN/sort" --archive "$TMP/a.tgz" --out "$I/s"
# its own outputs still roll forward
echo tensor > "$I/s/data/test.safetensors.tmp.AbC123"
printf 'F\t%s/s/data/test.safetensors.tmp.AbC123\t%s/s/data/test.safetensors\n' "$I" "$I" > "$I/s/sort.commit"
err=$(timeout -s KILL "$T22" "$BIN/sort" --archive "$TMP/a.tgz" --out "$I/s" 2>&1 >/dev/null); rc=$?
[ "$rc" -eq 0 ] && grep -q 'sort\.commit: finished the commit of 1 outputs' <<<"$err" && [ ! -e "$I/s/sort.commit" ] &&
  pass sort_journal_own_rolls_forward || fail sort_journal_own_rolls_forward "rc $rc: $err"
# a journal a killed run of this stage left is still finished
clean22
echo '{"x": 1}' > "$I/x.summary.json.tmp.AbC123"
printf 'F\t%s/x.summary.json.tmp.AbC123\t%s/x.summary.json\n' "$I" "$I" > "$I/x.commit"
err=$(train22 2>&1 >/dev/null); rc=$?
[ "$rc" -eq 0 ] && grep -q 'x\.commit: finished the commit of 1 outputs' <<<"$err" && [ ! -e "$I/x.commit" ] &&
  pass journal_own_rolls_forward || fail journal_own_rolls_forward "rc $rc: $err"

# --- item 2: a FIFO in place of any artifact a stage reads is refused, never waited on
clean22
mkfifo "$TMP/fifo.json"
PARAMS=$TMP/fifo.json expect_error fifo_params 'fifo\.json: is a FIFO, not a regular file' train22
STATS=$TMP/fifo.json expect_error fifo_stats 'fifo\.json: is a FIFO, not a regular file' train22
MODEL=$TMP/fifo.json expect_error fifo_model 'fifo\.json: is a FIFO, not a regular file' train22
mkfifo "$I/x.commit"
expect_error fifo_journal 'x\.commit: is a FIFO, not a regular file' train22
rm -f "$I/x.commit"
mkdir -p "$TMP/fdata" && cp "$D/test.safetensors" "$TMP/fdata/" && mkfifo "$TMP/fdata/train.safetensors"
DATA=$TMP/fdata expect_error fifo_data 'train\.safetensors: is a FIFO, not a regular file' train22
mkfifo "$I/x.lock"
expect_error fifo_lock 'x\.lock: is a FIFO, not a lock file' train22
# the other stages' inputs: the archive (sort), the fetched local file, the model (summary, evaluate)
mkfifo "$TMP/fifo.tgz"
expect_error fifo_archive 'fifo\.tgz: is a FIFO, not a regular file' timeout -s KILL "$T22" "$BIN/sort" --archive "$TMP/fifo.tgz" --out "$I/sorted"
expect_error fifo_fetch_local 'fifo\.tgz: local file is a FIFO, not a regular file' \
  timeout -s KILL "$T22" "$BIN/fetch" --url "file://$TMP/fifo.tgz" --retries 0 --out "$I/c.tgz"
expect_error fifo_summary_model 'fifo\.json: is a FIFO, not a regular file' timeout -s KILL "$T22" "$BIN/summary" "$TMP/fifo.json"
train22 >/dev/null 2>&1 && cp "$I/x.ckpt" "$TMP/i22.ckpt"
expect_error fifo_evaluate_model 'fifo\.json: is a FIFO, not a regular file' timeout -s KILL "$T22" "$BIN/evaluate" --model "$TMP/fifo.json" \
  --ckpt "$TMP/i22.ckpt" --params "$ROOT/params/quick/eval.json" --data "$D" --stats "$A/stats.json" --threads 2 \
  --eval "$I/x.eval.json" --probs "$I/x.probs.safetensors"
clean22
mkfifo "$I/x.state" "$I/x.lrfind.state"
err=$(train22 2>&1 >/dev/null); rc=$?
[ "$rc" -eq 0 ] && grep -q 'x\.state: warning: not resumed: is a FIFO, not a regular file; starting over' <<<"$err" &&
  pass fifo_state || fail fifo_state "rc $rc: $err"
err=$(lrfind22 2>&1 >/dev/null); rc=$?
[ "$rc" -eq 0 ] && grep -q 'x\.lrfind\.state: warning: not resumed: is a FIFO' <<<"$err" && pass fifo_lrfind_state ||
  fail fifo_lrfind_state "rc $rc: $err"

# --- item 2: a signal during set-up ends the process at once (here: waiting for the lock)
clean22
"$PY" -c 'import fcntl, sys, time
f = open(sys.argv[1], "a"); fcntl.flock(f, fcntl.LOCK_EX); print("locked", flush=True); time.sleep(600)' "$I/x.lock" >"$TMP/holder.out" &
holder=$!
for _ in $(seq 200); do grep -q locked "$TMP/holder.out" 2>/dev/null && break; sleep 0.1; done
"$BIN/train" --model "$TMP/simplenet.json" --params "$TMP/good.json" --data "$D" --stats "$A/stats.json" --threads 2 \
  --ckpt "$I/x.ckpt" --metrics "$I/x.metrics.json" --summary "$I/x.summary.json" 2>"$TMP/setup.err" >/dev/null &
tp=$!
for _ in $(seq 600); do grep -q 'waiting for another run' "$TMP/setup.err" 2>/dev/null && break; sleep 0.1; done
kill -TERM "$tp"
for _ in $(seq 300); do kill -0 "$tp" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$tp" 2>/dev/null; then fail signal_in_setup "SIGTERM while waiting for the lock was ignored"; kill -KILL "$tp"; fi
wait "$tp"; rc=$?
[ "$rc" -eq 143 ] && [ ! -e "$I/x.state" ] && pass signal_in_setup_ends_run || fail signal_in_setup_ends_run "rc $rc (expected 143, killed by SIGTERM)"
kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null

# --- items 3 and 4: a state whose position is out of range or disagrees with the data, or that
# is corrupt, is not resumed. A state after the first batch: state_every 1, killed at the second save.
# state_edit SRC DST CODE: rewrites the safetensors state with CODE run on m (metadata dict) and
# T (name -> [name, dtype, shape, bytes]); resealed (state_sha256) when the state has a seal.
state_edit() { "$PY" - "$1" "$2" "$3" <<'EOF'
import hashlib, json, struct, sys
src, dst, code = sys.argv[1:4]
b = open(src, 'rb').read(); n = struct.unpack('<Q', b[:8])[0]; h = json.loads(b[8:8 + n]); data = b[8 + n:]
m = h.pop('__metadata__', {})
ts = [[k, v['dtype'], v['shape'], data[v['data_offsets'][0]:v['data_offsets'][1]]]
      for k, v in sorted(h.items(), key=lambda kv: kv[1]['data_offsets'][0])]
T = {t[0]: t for t in ts}
exec(code)
if 'state_sha256' in m:
    del m['state_sha256']; m['state_sha256'] = ''
    d = hashlib.sha256(struct.pack('<Q', len(m)))
    for k, v in m.items():
        if k != 'state_sha256': d.update(k.encode() + b'\0' + v.encode() + b'\0')
    d.update(struct.pack('<Q', len(ts)))
    for name, dt, sh, raw in ts:
        d.update(name.encode() + b'\0' + dt.encode() + b'\0' + struct.pack('<Q', len(sh)) +
                 b''.join(struct.pack('<Q', x) for x in sh) + struct.pack('<Q', len(raw)) + raw)
    m['state_sha256'] = d.hexdigest()
out = {'__metadata__': m}; off = 0
for name, dt, sh, raw in ts:
    out[name] = {'dtype': dt, 'shape': sh, 'data_offsets': [off, off + len(raw)]}; off += len(raw)
hj = json.dumps(out, separators=(',', ':')).encode(); hj += b' ' * ((8 - len(hj) % 8) % 8)
open(dst, 'wb').write(struct.pack('<Q', len(hj)) + hj + b''.join(t[3] for t in ts))
EOF
}
# resume_refused NAME PATTERN: the edited state $TMP/s22 is not resumed (one warning matching
# PATTERN; the run starts over and finishes).
resume_refused() {
  clean22; cp "$TMP/s22" "$I/x.state"
  local err rc; err=$(train22 2>&1 >/dev/null); rc=$?
  if [ "$rc" -ne 0 ] || grep -q 'resuming at' <<<"$err" || ! grep -Eq "x\.state: warning: not resumed: $2.*; starting over" <<<"$err"
  then fail "$1" "rc $rc: $err"; else pass "$1"; fi
}
edit "$TMP/good.json" "$TMP/every1.json" 'd["state_every"] = 1'
clean22
PARAMS=$TMP/every1.json CIFAR_TEST_KILL=rename:x.state:2 train22 >/dev/null 2>&1
if [ ! -f "$I/x.state" ]; then fail state_made "no state after a kill at the second save"; else
  cp "$I/x.state" "$TMP/s0"
  nb=$("$PY" -c "import json,struct,sys; b=open(sys.argv[1],'rb').read(); print(json.loads(b[8:8+struct.unpack('<Q',b[:8])[0]])['__metadata__']['batches_per_epoch'])" "$TMP/s0")
  state_edit "$TMP/s0" "$TMP/s22" 'pass'
  clean22; cp "$TMP/s22" "$I/x.state"
  err=$(PARAMS=$TMP/every1.json train22 2>&1 >/dev/null); rc=$?
  [ "$rc" -eq 0 ] && grep -q 'resuming at epoch 0, batch 1 ' <<<"$err" && pass state_rewritten_resumes ||
    fail state_rewritten_resumes "the test's own rewrite is not resumed (rc $rc: $err)"
  export PARAMS=$TMP/every1.json
  state_edit "$TMP/s0" "$TMP/s22" "m['batch'] = '$nb'"; resume_refused state_batch_at_epoch_end "batch: $nb is past the epoch's $nb batches"
  state_edit "$TMP/s0" "$TMP/s22" "m['batch'] = '$((nb + 1))'"; resume_refused state_batch_past_epoch "batch: $((nb + 1)) is past the epoch's"
  state_edit "$TMP/s0" "$TMP/s22" "m['batch'] = '99999999999'"; resume_refused state_batch_huge "batch: 99999999999 is past the epoch's"
  state_edit "$TMP/s0" "$TMP/s22" "m['batches_per_epoch'] = '0'"; resume_refused state_bpe_zero "batches_per_epoch: 0, but the data and params give $nb"
  state_edit "$TMP/s0" "$TMP/s22" "m['step'] = '5'"; resume_refused state_step_disagrees "step: 5, but epoch 0, batch 1 has 1"
  state_edit "$TMP/s0" "$TMP/s22" "m['images'] = '3'"; resume_refused state_images_disagree "images: 3, but the position has"
  # item 4: one flipped bit in a weight (no reseal), inf/NaN in the loss history and timing fields
  "$PY" -c "
import json, struct, sys
b = bytearray(open(sys.argv[1], 'rb').read()); n = struct.unpack('<Q', b[:8])[0]
h = json.loads(b[8:8 + n]); k = next(k for k in h if k.startswith('net.'))
b[8 + n + h[k]['data_offsets'][0] + 2] ^= 0x10; open(sys.argv[2], 'wb').write(b)" "$TMP/s0" "$TMP/s22"
  resume_refused state_bit_flip_weight 'checksum mismatch \(state_sha256\): the file is corrupt'
  state_edit "$TMP/s0" "$TMP/s22" "T['it_loss'][3] = struct.pack('<d', float('inf')) + T['it_loss'][3][8:]"
  resume_refused state_inf_loss "tensor 'it_loss': value 0 is inf"
  state_edit "$TMP/s0" "$TMP/s22" "T['it_lr'][3] = struct.pack('<d', float('nan')) + T['it_lr'][3][8:]"
  resume_refused state_nan_lr "tensor 'it_lr': value 0 is (nan|-nan)"
  state_edit "$TMP/s0" "$TMP/s22" "m['train_seconds'] = 'nan'"; resume_refused state_nan_seconds 'train_seconds: missing, not finite or negative'
  state_edit "$TMP/s0" "$TMP/s22" "m['loop_seconds'] = 'inf'"; resume_refused state_inf_seconds 'loop_seconds: missing, not finite or negative'
  state_edit "$TMP/s0" "$TMP/s22" "m['format'] = 'cifar-train-state 1'; m.pop('state_sha256', None)"
  resume_refused state_old_format "saved by another version of the program \(format 'cifar-train-state 1'"
  unset PARAMS
fi

# --- item 5: a folder where an output goes is refused before anything is written (all or none)
clean22
mkdir "$I/x.ckpt"
expect_error output_is_folder 'x\.ckpt: is a folder, where this file is to be written; remove or rename it' train22
left=$(cd "$I" && ls -A | grep -v '^x\.ckpt$' | tr '\n' ' ')
[ -z "$left" ] && pass output_is_folder_nothing_written || fail output_is_folder_nothing_written "left: $left"

# --- item 6: a folder named like the lock file is named for what it is
clean22
mkdir "$I/x.lock"
expect_error lock_is_folder 'x\.lock: is a folder, not a lock file; remove it' train22
rm -rf "$I" "$TMP/fdata" "$TMP/fifo.json" "$TMP/fifo.tgz" "$TMP/i22.ckpt"
# ==== end of issue 22 items 1-6

no_leftovers no_temporaries "$TMP"
finish
