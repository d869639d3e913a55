#!/usr/bin/env bash
# evaluate with "tta": "flip_translate" (airbench94's TTA level 2) on a briefly trained convbnnet
# (BatchNorm in eval mode): its TTA probabilities equal a reference built from six separate plain
# evaluations, one per view, of test sets whose images numpy made (np.pad 'reflect', the mirror
# after the crop): the softmax of the views' log-probabilities weighted 1/4, 1/4, 1/8 x 4. The
# clean pass of every TTA mode is the plain evaluation (n_aug 0) at the same batch size, byte for
# byte (one code path on the same batches); at another batch size only within a tolerance
# (docs/determinism.md). Bad "tta" values and n_aug beside flip_translate are refused with one line.
source "$(dirname "$0")/../lib.sh"
for b in sort stats train evaluate; do
  [ -x "$BIN/$b" ] || { skip eval_tta_views "${BUILD:-build}/bin/$b not built"; finish; }
done
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}

A=$TMP/art
mini_artifacts eval_tta_views_data "$A"
"$BIN/train" --model "$ROOT/models/convbnnet.json" --params "$ROOT/params/quick/convbnnet.json" --data "$A/data" \
  --stats "$A/stats.json" --threads 2 --ckpt "$A/m.ckpt" --metrics "$A/m.metrics.json" \
  --summary "$A/m.summary.json" >/dev/null 2>"$TMP/err" ||
  { fail eval_tta_setup "$(tail -n 3 "$TMP/err")"; finish; }

evaluate() {  # evaluate PARAMS OUT_PREFIX [DATA_DIR]
  "$BIN/evaluate" --model "$ROOT/models/convbnnet.json" --ckpt "$A/m.ckpt" --params "$1" --data "${3:-$A/data}" \
    --stats "$A/stats.json" --threads 2 --eval "$2.eval.json" --probs "$2.probs.safetensors"
}

echo '{"tta": "flip_translate", "batch_size": 96, "seed": 0}' > "$TMP/ft.json"
if evaluate "$TMP/ft.json" "$TMP/ft" 2>"$TMP/err"; then pass flip_translate_runs
else fail flip_translate_runs "$(cat "$TMP/err")"; finish; fi
grep -q '"tta":[[:space:]]*"flip_translate"' "$TMP/ft.eval.json" && grep -q '"n_aug":[[:space:]]*5' "$TMP/ft.eval.json" &&
  pass flip_translate_recorded || fail flip_translate_recorded "eval.json lacks \"tta\": \"flip_translate\" or n_aug 5"

# the plain evaluation on the same batches as ft.json (batch 96), and at another batch size
echo '{"n_aug": 0, "batch_size": 96, "seed": 0}' > "$TMP/plain.json"
evaluate "$TMP/plain.json" "$TMP/plain" 2>/dev/null || { fail eval_tta_plain "evaluate with n_aug 0 failed"; finish; }
echo '{"n_aug": 0, "batch_size": 256, "seed": 0}' > "$TMP/plain256.json"
evaluate "$TMP/plain256.json" "$TMP/plain256" 2>/dev/null || { fail eval_tta_plain "evaluate at batch 256 failed"; finish; }
echo '{"n_aug": 2, "batch_size": 96, "seed": 0}' > "$TMP/fastai.json"
evaluate "$TMP/fastai.json" "$TMP/fastai" 2>/dev/null || { fail eval_tta_plain "evaluate with n_aug 2 failed"; finish; }

PY=$ROOT/.venv/bin/python
if [ -x "$PY" ] && "$PY" -c 'import numpy, safetensors' 2>/dev/null; then
  # the six view test sets, each evaluated plainly (n_aug 0: its clean pass is that view alone)
  "$PY" - "$A/data/test.safetensors" "$TMP" <<'PY' || fail eval_tta_views_made "numpy could not write the views"
import sys, os
import numpy as np
from safetensors.numpy import load_file, save_file
from safetensors import safe_open
src, out = sys.argv[1], sys.argv[2]
t = load_file(src)
with safe_open(src, "np") as f: meta = f.metadata()
x = t["images"]                                   # [N, H, W, 3] uint8
h, w = x.shape[1:3]
p = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="reflect")   # torch F.pad 'reflect'
views = [x, x[:, :, ::-1], p[:, 0:h, 0:w], p[:, 0:h, 0:w][:, :, ::-1], p[:, 2:h + 2, 2:w + 2], p[:, 2:h + 2, 2:w + 2][:, :, ::-1]]
for i, v in enumerate(views):
    os.makedirs(f"{out}/view{i}", exist_ok=True)
    save_file({"images": np.ascontiguousarray(v), "labels": t["labels"]}, f"{out}/view{i}/test.safetensors", metadata=meta)
PY
  ok=1
  for i in 0 1 2 3 4 5; do
    evaluate "$TMP/plain.json" "$TMP/v$i" "$TMP/view$i" 2>>"$TMP/err" || ok=0
  done
  [ $ok = 1 ] && pass eval_tta_view_passes || fail eval_tta_view_passes "$(tail -n 2 "$TMP/err")"
  if "$PY" - "$TMP" <<'PY'
import json, sys
import numpy as np
from safetensors.numpy import load_file
d = sys.argv[1]
ft = load_file(f"{d}/ft.probs.safetensors"); e = json.load(open(f"{d}/ft.eval.json"))
w = [0.25, 0.25, 0.125, 0.125, 0.125, 0.125]
lp = sum(wi * np.log(load_file(f"{d}/v{i}.probs.safetensors")["clean_probs"].astype(np.float64)) for i, wi in enumerate(w))
ref = np.exp(lp - lp.max(1, keepdims=True)); ref /= ref.sum(1, keepdims=True)
err = np.abs(ft["probs"] - ref).max()
assert err < 2e-5, f"max |probs - reference| = {err}"
y = ft["labels"]
assert abs((ft["probs"].argmax(1) == y).mean() - e["tta_accuracy"]) < 1e-12
# the views differ (the test is not vacuous): some image's prediction moves between views
c0, c1 = (load_file(f"{d}/v{i}.probs.safetensors")["clean_probs"] for i in (0, 2))
assert np.abs(c0 - c1).max() > 1e-3, "views 0 and 2 give the same probabilities"
print(f"max |probs - reference| = {err:.2e}", file=sys.stderr)
PY
  then pass flip_translate_equals_view_passes; else fail flip_translate_equals_view_passes "see the assertion above"; fi
else
  skip flip_translate_equals_view_passes "no .venv with numpy and safetensors (make deps)"
fi

# the clean pass of each mode is the plain evaluation's at the same batch size: same accuracy,
# log loss, per-class values and clean_probs bytes
json_value() {  # json_value KEY FILE: the key's value as written, spaces removed
  tr -d ' \n' < "$2" | grep -o "\"$1\":[^]a-z]*" | head -1
}
clean_probs() {  # clean_probs FILE.probs.safetensors: the bytes of the clean_probs tensor, hex
  "$PY" -c 'import sys; from safetensors.numpy import load_file; sys.stdout.write(load_file(sys.argv[1])["clean_probs"].tobytes().hex())' "$1"
}
for mode in ft fastai; do
  for k in accuracy log_loss per_class; do
    a=$(json_value "$k" "$TMP/$mode.eval.json"); b=$(json_value "$k" "$TMP/plain.eval.json")
    [ -n "$a" ] && [ "$a" = "$b" ] || { fail "clean_is_plain_$mode" "$k: $a vs $b"; continue 2; }
  done
  if [ -x "$PY" ] && "$PY" -c 'import safetensors' 2>/dev/null; then
    [ "$(clean_probs "$TMP/$mode.probs.safetensors")" = "$(clean_probs "$TMP/plain.probs.safetensors")" ] ||
      { fail "clean_is_plain_$mode" "clean_probs bytes differ from the plain evaluation's"; continue; }
  fi
  pass "clean_is_plain_$mode"
done
# across batch sizes only a tolerance holds (oneDNN's blocking follows the minibatch and the CPU)
if ! [ -x "$PY" ]; then skip clean_across_batch_sizes_within_tolerance "no .venv with numpy and safetensors (make deps)"
elif "$PY" - "$TMP" <<'PY'
import json, sys
import numpy as np
from safetensors.numpy import load_file
d = sys.argv[1]
a, b = (load_file(f"{d}/{n}.probs.safetensors")["clean_probs"].astype(np.float64) for n in ("plain", "plain256"))
ea, eb = (json.load(open(f"{d}/{n}.eval.json")) for n in ("plain", "plain256"))
err = np.abs(a - b).max()
assert err < 1e-5, f"clean_probs at batch 96 and 256 differ by {err}"
assert abs(ea["log_loss"] - eb["log_loss"]) <= 1e-6 * abs(ea["log_loss"]), (ea["log_loss"], eb["log_loss"])
# an argmax may flip only where two classes tie within the tolerance
flips = np.nonzero(a.argmax(1) != b.argmax(1))[0]
for i in flips:
    top = np.sort(a[i])[-2:]
    assert top[1] - top[0] < 2e-5, f"image {i}: the prediction moves between batch sizes"
print(f"batch 96 vs 256: max |clean_probs| difference {err:.2e}", file=sys.stderr)
PY
then pass clean_across_batch_sizes_within_tolerance
else fail clean_across_batch_sizes_within_tolerance "see the assertion above"; fi

evaluate "$TMP/ft.json" "$TMP/ft2" 2>/dev/null && cmp -s "$TMP/ft.eval.json" "$TMP/ft2.eval.json" &&
  cmp -s "$TMP/ft.probs.safetensors" "$TMP/ft2.probs.safetensors" && pass flip_translate_deterministic ||
  fail flip_translate_deterministic "two runs differ"

echo '{"tta": "mirror", "batch_size": 96, "seed": 0}' > "$TMP/bad1.json"
expect_error eval_tta_bad_value 'evaluate: .*bad1\.json: tta: .*flip_translate' evaluate "$TMP/bad1.json" "$TMP/x"
echo '{"tta": "flip_translate", "n_aug": 4, "batch_size": 96, "seed": 0}' > "$TMP/bad2.json"
expect_error eval_tta_n_aug_refused 'evaluate: .*bad2\.json: n_aug: ' evaluate "$TMP/bad2.json" "$TMP/x"
echo '{"tta": "fastai", "batch_size": 96, "seed": 0}' > "$TMP/bad3.json"
expect_error eval_tta_fastai_needs_n_aug 'evaluate: .*bad3\.json: n_aug: missing' evaluate "$TMP/bad3.json" "$TMP/x"
echo '{"tta": 2, "batch_size": 96, "seed": 0}' > "$TMP/bad4.json"
expect_error eval_tta_not_string 'evaluate: .*bad4\.json: tta: must be' evaluate "$TMP/bad4.json" "$TMP/x"
[ ! -e "$TMP/x.eval.json" ] && [ ! -e "$TMP/x.probs.safetensors" ] && pass eval_tta_errors_write_nothing ||
  fail eval_tta_errors_write_nothing "an output was left"
no_leftovers eval_tta_no_temporaries "$TMP"
finish
