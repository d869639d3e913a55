#!/usr/bin/env bash
# lrfind with airbench's optimiser rules (airbench94 at batch 64 on cifar-mini, 12 iterations):
# the sweep steps as the training does, so Nesterov and the BatchNorm biases' lr scale each change
# the curve; the same inputs give the same bytes; a "freeze" naming no tensor of the model stops it
# at set-up with one line naming the key, and no curve.
source "$(dirname "$0")/../lib.sh"
for b in sort stats lrfind; do [ -x "$BIN/$b" ] || { skip lrfind_rules "${BUILD:-build}/bin/$b not built"; finish; }; done
ART=$TMP/art
mini_artifacts lrfind_rules_data "$ART"
PY=${PYTHON:-python3}

# params NAME NESTEROV BIAS_LR_SCALE [FREEZE_TENSOR]: $TMP/NAME.json, airbench94's rules at batch 64
params() {
  cat >"$TMP/$1.json" <<JSON
{"seed": 4, "batch_size": 64, "momentum": 0.85, "nesterov": $2, "bias_lr_scale": $3, "drop_last": true,
 "loss": {"label_smoothing": 0.2, "reduction": "sum"}, "augment": {"pad": 2, "flip": true},
 "freeze": [{"tensor": "${4:-0.bias}", "after_epochs": 3}],
 "lr_find": {"start_lr": 1e-4, "end_lr": 1, "limit_batches": 12},
 "phases": [{"lr": 11.5, "wd": 0.0153, "epochs": 4, "units": "kilostep", "wd_mode": "decoupled"}]}
JSON
}
lrf() {  # lrf NAME: $TMP/NAME.json into $TMP/NAME.lrfind.json
  "$BIN/lrfind" --model "$ROOT/models/airbench94.json" --params "$TMP/$1.json" --data "$ART/data" \
    --stats "$ART/stats.json" --threads 2 --out "$TMP/$1.lrfind.json"
}
curve() { "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["loss"])' "$1"; }

params base true 64; params plain false 64; params flat true 1
for n in base plain flat; do
  lrf "$n" >/dev/null 2>"$TMP/$n.err" || { fail "lrfind_rules_$n" "$(tail -n 2 "$TMP/$n.err")"; finish; }
done
pass lrfind_rules_runs
# the curves' later losses move with the rule (the first is before any step)
b=$(curve "$TMP/base.lrfind.json")
[ "$b" != "$(curve "$TMP/plain.lrfind.json")" ] && pass lrfind_nesterov_changes_curve ||
  fail lrfind_nesterov_changes_curve "the curve ignores nesterov"
[ "$b" != "$(curve "$TMP/flat.lrfind.json")" ] && pass lrfind_bias_lr_scale_changes_curve ||
  fail lrfind_bias_lr_scale_changes_curve "the curve ignores bias_lr_scale"
cp "$TMP/base.lrfind.json" "$TMP/first.lrfind.json"
lrf base >/dev/null 2>"$TMP/again.err" && cmp -s "$TMP/base.lrfind.json" "$TMP/first.lrfind.json" &&
  pass lrfind_rules_deterministic || fail lrfind_rules_deterministic "a rerun wrote other bytes"

params badfreeze true 64 no.such
expect_error lrfind_freeze_unknown_tensor 'freeze\[0\]\.tensor: the model has no tensor "no.such"' lrf badfreeze
[ ! -e "$TMP/badfreeze.lrfind.json" ] && pass lrfind_freeze_unknown_no_curve ||
  fail lrfind_freeze_unknown_no_curve "wrote $TMP/badfreeze.lrfind.json"
no_leftovers lrfind_rules_no_temporaries "$TMP"
finish
