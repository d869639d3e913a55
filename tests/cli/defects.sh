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
if [ "$(id -u)" = 0 ] && mkdir -p "$FULL" && mount -t tmpfs -o size=1m tmpfs "$FULL" 2>/dev/null; then
  dd if=/dev/zero of="$FULL/filler" bs=4k count=1024 >/dev/null 2>&1
  expect_error full_disk_stats "stats: $FULL/s\\.json: write failed: No space left on device" \
    "$BIN/stats" --data "$D/train.safetensors" --out "$FULL/s.json"
  err=$("$BIN/evaluate" --model "$TMP/simplenet.json" --ckpt "$TMP/good.ckpt" --params "$ROOT/params/quick/eval.json" \
          --data "$D" --stats "$A/stats.json" --threads 2 --eval "$FULL/x.eval.json" --probs "$FULL/x.probs.safetensors" 2>&1 >/dev/null)
  rc=$? left=$(ls "$FULL" | grep -v '^filler$')
  umount "$FULL"
  if [ $rc -ne 0 ] && printf '%s\n' "$err" | grep -q "^evaluate: $FULL/x\\.probs\\.safetensors: write failed: No space left on device$" &&
     [ "$(printf '%s\n' "$err" | grep -vc ' pass\| view ')" = 1 ] && [ -z "$left" ]; then pass full_disk_evaluate
  else fail full_disk_evaluate "exit $rc, left '$left': $(printf '%s' "$err" | tail -n 2)"; fi
else skip full_disk "not root, or no tmpfs"; fi
# ==== end of the issue 22b block

# --- report: NaN probabilities beside an evaluation are refused, naming file and tensor; and
# the page without named architectures (the default list overflowed its array: SAN=1 sees it)
if ! command -v gnuplot >/dev/null; then skip report_nan_probs "gnuplot not installed"; finish; fi
train >/dev/null 2>&1 && evaluate "$O/x.ckpt" >/dev/null 2>&1 || { fail evaluate_runs "evaluate failed"; finish; }
for f in ckpt metrics.json summary.json eval.json probs.safetensors; do cp "$O/x.$f" "$A/simplenet.$f"; done
if "$BIN/report" --art "$A" --out "$TMP/rep" --models "$ROOT/models" >/dev/null 2>"$TMP/report.err"; then pass report_default_list
else fail report_default_list "$(cat "$TMP/report.err")"; fi
set_f32 "$O/x.probs.safetensors" "$A/simplenet.probs.safetensors" probs 11 1 nan
expect_error report_nan_probs 'report: .*simplenet\.probs\.safetensors: probs: element 11 is nan: the probabilities are not finite' \
  "$BIN/report" --art "$A" --out "$TMP/rep2" --models "$ROOT/models" simplenet
no_leftovers no_temporaries "$TMP"
finish
