#!/usr/bin/env bash
# The evaluate stage on a briefly trained convnet (mini archive): eval.json has every field of
# docs/artifacts.md with consistent values (confusion sums to the image count, its diagonal gives
# the TTA accuracy); with n_aug 0 TTA equals the plain pass; two runs give identical bytes, and so
# does naming the default "tta": "fastai";
# probs.safetensors holds the averaged probabilities (rows sum to 1, argmax = TTA accuracy, when
# the Python venv is there); bad params, a missing or mismatched checkpoint each give one error
# line naming the culprit and leave nothing behind.
source "$(dirname "$0")/../lib.sh"
for b in sort stats train evaluate; do
  [ -x "$BIN/$b" ] || { skip report_evaluate "${BUILD:-build}/bin/$b not built"; finish; }
done
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}

A=$TMP/art
mini_artifacts report_evaluate_data "$A"
"$BIN/train" --model "$ROOT/models/convnet.json" --params "$ROOT/params/quick/convnet.json" --data "$A/data" \
  --stats "$A/stats.json" --threads 2 --ckpt "$A/convnet.ckpt" --metrics "$A/convnet.metrics.json" \
  --summary "$A/convnet.summary.json" >/dev/null 2>"$TMP/err" ||
  { fail eval_setup "$(tail -n 3 "$TMP/err")"; finish; }

evaluate() {  # evaluate PARAMS OUT_PREFIX [MODEL] [CKPT]
  "$BIN/evaluate" --model "${3:-$ROOT/models/convnet.json}" --ckpt "${4:-$A/convnet.ckpt}" --params "$1" \
    --data "$A/data" --stats "$A/stats.json" --threads 2 --eval "$2.eval.json" --probs "$2.probs.safetensors"
}
json_num() { sed -n "s/^[[:space:]]*\"$1\":[[:space:]]*\([-0-9.e]*\),\{0,1\}$/\1/p" "$2"; }

echo '{"n_aug": 4, "batch_size": 256, "seed": 0}' > "$TMP/eval.json"
if evaluate "$TMP/eval.json" "$TMP/a" 2>"$TMP/err"; then pass evaluate_runs
else fail evaluate_runs "$(cat "$TMP/err")"; finish; fi

missing=""
for k in arch n_aug count accuracy log_loss tta_accuracy tta_log_loss classes per_class tta_per_class confusion; do
  grep -q "\"$k\":" "$TMP/a.eval.json" || missing="$missing $k"
done
[ -z "$missing" ] && pass eval_json_fields || fail eval_json_fields "missing:$missing"

# The confusion matrix (TTA predictions) sums to the test count; its trace / count is tta_accuracy.
read -r total trace < <(tr -d ' \t\n' < "$TMP/a.eval.json" | sed 's/.*"confusion":\[\[//; s/\]\]}.*//' |
  awk -F'\\],\\[' '{ t = 0; d = 0; for (i = 1; i <= NF; i++) { n = split($i, v, ","); for (j = 1; j <= n; j++) { t += v[j]; if (i == j) d += v[j] } } print t, d }')
count=$(json_num count "$TMP/a.eval.json"); tta=$(json_num tta_accuracy "$TMP/a.eval.json")
awk -v t="$total" -v d="$trace" -v c="$count" -v a="$tta" 'BEGIN { exit !(t == c && c == 1000 && (d / c - a) ^ 2 < 1e-12) }' &&
  pass confusion_consistent || fail confusion_consistent "sum $total trace $trace count $count tta_accuracy $tta"

evaluate "$TMP/eval.json" "$TMP/b" 2>/dev/null && cmp -s "$TMP/a.eval.json" "$TMP/b.eval.json" &&
  cmp -s "$TMP/a.probs.safetensors" "$TMP/b.probs.safetensors" && pass evaluate_deterministic ||
  fail evaluate_deterministic "two runs differ"

# "tta": "fastai" is the default: naming it changes no byte (flip_translate: tests/cli/eval_tta_views.sh)
echo '{"n_aug": 4, "batch_size": 256, "seed": 0, "tta": "fastai"}' > "$TMP/eval_fastai.json"
evaluate "$TMP/eval_fastai.json" "$TMP/f" 2>/dev/null && cmp -s "$TMP/a.eval.json" "$TMP/f.eval.json" &&
  cmp -s "$TMP/a.probs.safetensors" "$TMP/f.probs.safetensors" && pass tta_fastai_is_default ||
  fail tta_fastai_is_default "\"tta\": \"fastai\" changed the outputs"

# at a's batch size: its clean pass runs on the same batches (another batch size agrees only
# within a tolerance, docs/determinism.md)
echo '{"n_aug": 0, "batch_size": 256, "seed": 0}' > "$TMP/eval0.json"
evaluate "$TMP/eval0.json" "$TMP/z" 2>/dev/null &&
  [ "$(json_num accuracy "$TMP/z.eval.json")" = "$(json_num tta_accuracy "$TMP/z.eval.json")" ] &&
  [ "$(json_num log_loss "$TMP/z.eval.json")" = "$(json_num tta_log_loss "$TMP/z.eval.json")" ] &&
  [ "$(json_num accuracy "$TMP/z.eval.json")" = "$(json_num accuracy "$TMP/a.eval.json")" ] &&
  pass no_aug_tta_equals_plain || fail no_aug_tta_equals_plain "n_aug 0: TTA differs from plain, or plain differs from the n_aug 4 run's clean pass"

PY=$ROOT/.venv/bin/python
if [ -x "$PY" ] && "$PY" -c 'import numpy, safetensors' 2>/dev/null; then
  if "$PY" - "$TMP/a.probs.safetensors" "$TMP/a.eval.json" <<'PY'
import json, sys
import numpy as np
from safetensors.numpy import load_file
t = load_file(sys.argv[1]); e = json.load(open(sys.argv[2]))
p, c, y = t["probs"], t["clean_probs"], t["labels"]
assert p.dtype == np.float32 and p.shape == (1000, 10) and c.shape == (1000, 10) and y.dtype == np.uint8
assert np.allclose(p.sum(1), 1, atol=1e-5) and np.allclose(c.sum(1), 1, atol=1e-5)
assert abs((p.argmax(1) == y).mean() - e["tta_accuracy"]) < 1e-12
assert abs((c.argmax(1) == y).mean() - e["accuracy"]) < 1e-12
q = np.clip(p.astype(np.float64), 1e-15, 1 - 1e-15); q /= q.sum(1, keepdims=True)
assert abs(-np.log(q[np.arange(len(y)), y]).mean() - e["tta_log_loss"]) < 1e-6
PY
  then pass probs_match_eval_json; else fail probs_match_eval_json "see the assertion above"; fi
else
  skip probs_match_eval_json "no .venv with numpy and safetensors (make deps)"
fi

echo '{"n_aug": 4, "batch_size": 256, "seed": 0, "extra": 1}' > "$TMP/bad1.json"
expect_error eval_params_unknown_key 'evaluate: .*bad1\.json: .*extra' evaluate "$TMP/bad1.json" "$TMP/x"
echo '{"n_aug": -1, "batch_size": 256, "seed": 0}' > "$TMP/bad2.json"
expect_error eval_params_range 'evaluate: .*bad2\.json: .*n_aug' evaluate "$TMP/bad2.json" "$TMP/x"
echo '{"n_aug": 4, "seed": 0}' > "$TMP/bad3.json"
expect_error eval_params_missing 'evaluate: .*bad3\.json: .*batch_size' evaluate "$TMP/bad3.json" "$TMP/x"
expect_error eval_missing_ckpt 'evaluate: .*nothere\.ckpt' evaluate "$TMP/eval.json" "$TMP/x" "" "$TMP/nothere.ckpt"
expect_error eval_wrong_model 'evaluate: .*convnet\.ckpt' evaluate "$TMP/eval.json" "$TMP/x" "$ROOT/models/convnet2.json"
[ ! -e "$TMP/x.eval.json" ] && [ ! -e "$TMP/x.probs.safetensors" ] && pass eval_errors_write_nothing ||
  fail eval_errors_write_nothing "an output was left"
no_leftovers eval_no_temporaries "$TMP"
finish
