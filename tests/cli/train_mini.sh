#!/usr/bin/env bash
# train and lrfind on real data (../shared/data/cifar-mini.tgz through the sort and stats stages):
# convbnnet learns (>= 30% test accuracy, chance 10%); two identical runs give byte-identical
# checkpoints and metrics (compared WITHOUT the wall-clock fields train_seconds, loop_seconds,
# loader_wait_seconds, images_per_second and per-epoch seconds, the only ones that may differ);
# the checkpoint opens with Python's safetensors + numpy with the PyTorch names, shapes and
# dtypes of architectures.md; a NaN loss stops with the epoch and iteration and writes nothing;
# lr_find follows fastai's schedule.
source "$(dirname "$0")/../lib.sh"
for b in sort stats train lrfind; do
  [ -x "$BIN/$b" ] || { skip train_mini "${BUILD:-build}/bin/$b not built"; finish; }
done

ART=$TMP/art
mini_artifacts train_mini_data "$ART"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}

# train ARCH PARAMS NAME: trains into $TMP/NAME.{ckpt,metrics.json,summary.json}, table in NAME.out
train() {
  "$BIN/train" --model "$ROOT/models/$1.json" --params "$2" --data "$ART/data" --stats "$ART/stats.json" \
    --threads 2 --ckpt "$TMP/$3.ckpt" --metrics "$TMP/$3.metrics.json" --summary "$TMP/$3.summary.json" \
    >"$TMP/$3.out" 2>"$TMP/$3.err"
}
json_get() { sed -n "s/^[[:space:]]*\"$1\":[[:space:]]*\([^,]*\),\{0,1\}$/\1/p" "$2" | tail -n 1; }

# 1. Learning: convbnnet, the notebook's phase kinds at batch 64 (47 batches/epoch on 3,000 images).
cat >"$TMP/learn.json" <<'JSON'
{"seed": 0, "batch_size": 64, "momentum": 0.9, "augment": {"pad": 4, "flip": true},
 "lr_find": {"start_lr": 1e-5, "end_lr": 10},
 "phases": [{"lr": 0.03, "n_cycle": 2}, {"lr": 0.1, "n_cycle": 4, "cycle_len": 1}]}
JSON
if train convbnnet "$TMP/learn.json" learn; then
  acc=$(awk '/^ *[0-9]+ / { a = $4 } END { print a }' "$TMP/learn.out")
  if awk -v a="$acc" 'BEGIN { exit !(a >= 0.30) }'; then pass "learns (accuracy $acc >= 0.30)"
  else fail learns "final accuracy $acc < 0.30: $(cat "$TMP/learn.out")"; fi
  # fastai's table: a header, then `epoch trn_loss val_loss accuracy` per epoch, epochs counted per fit call.
  if head -n 1 "$TMP/learn.out" | grep -Eq '^epoch +trn_loss +val_loss +accuracy' &&
     [ "$(grep -Ec '^ +[0-9]+ +[0-9.]+ +[0-9.]+ +[0-9.]+ *$' "$TMP/learn.out")" -eq 6 ] &&
     [ "$(awk '/^ *[0-9]+ / { print $1 }' "$TMP/learn.out" | tr '\n' ' ')" = "0 1 0 1 2 3 " ]; then
    pass epoch_table
  else fail epoch_table "$(cat "$TMP/learn.out")"; fi
  # metrics: 6 epochs, 47 batches per epoch, one lr/loss per iteration (282), accuracy = the table's.
  m=$TMP/learn.metrics.json
  if [ "$(json_get batches_per_epoch "$m")" = 47 ] && [ "$(grep -c '"trn_loss"' "$m")" -eq 6 ] &&
     "${PYTHON:-python3}" - "$m" "$acc" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
assert len(m["iterations"]["lr"]) == len(m["iterations"]["loss"]) == 6 * 47
assert [e["phase"] for e in m["epochs"]] == [0, 0, 1, 1, 1, 1]
assert abs(round(m["epochs"][-1]["accuracy"], 6) - float(sys.argv[2])) < 1e-9
lr = m["iterations"]["lr"]
assert all(x == 0.03 for x in lr[:94])                  # constant phase
assert abs(lr[94] - 0.001) < 1e-12 and abs(lr[94 + 2] - 0.001) < 1e-12  # warm-up ceil(47/20) = 3 batches
assert abs(lr[94 + 3] - 0.05 * (1 + __import__("math").cos(__import__("math").pi * 3 / 47))) < 1e-9
assert abs(lr[94 + 47] - 0.1) < 1e-12                    # restart
PY
  then pass metrics_json; else fail metrics_json "$(head -c 600 "$m")"; fi
else
  fail learns "train failed: $(cat "$TMP/learn.err")"
fi

# 2. Determinism: resnet2 (dropout, BnLayer, residuals) twice with the same inputs, seed and threads.
cat >"$TMP/det.json" <<'JSON'
{"seed": 7, "batch_size": 32, "momentum": 0.9, "augment": {"pad": 4, "flip": true},
 "lr_find": {"start_lr": 1e-5, "end_lr": 10}, "limit_batches": 3,
 "phases": [{"lr": 0.01, "n_cycle": 1, "wd": 1e-6}, {"lr": 0.01, "n_cycle": 2, "cycle_len": 1, "cycle_mult": 2, "wd": 1e-6}]}
JSON
strip_times() { grep -Ev '"(train_seconds|loop_seconds|loader_wait_seconds|images_per_second|seconds)":' "$1"; }
if train resnet2 "$TMP/det.json" det1 && train resnet2 "$TMP/det.json" det2; then
  if cmp -s "$TMP/det1.ckpt" "$TMP/det2.ckpt"; then pass deterministic_checkpoint
  else fail deterministic_checkpoint "checkpoints differ"; fi
  if diff <(strip_times "$TMP/det1.metrics.json") <(strip_times "$TMP/det2.metrics.json") >/dev/null &&
     [ "$(strip_times "$TMP/det1.metrics.json" | wc -l)" -gt 10 ]; then pass deterministic_metrics
  else fail deterministic_metrics "metrics differ beyond the timing fields"; fi
  if cmp -s "$TMP/det1.summary.json" "$TMP/det2.summary.json" && grep -q '"total_params"' "$TMP/det1.summary.json"
  then pass summary_json; else fail summary_json "summary differs or lacks total_params"; fi
else
  fail deterministic "train failed: $(cat "$TMP/det1.err" "$TMP/det2.err" 2>/dev/null)"
fi
# A different seed gives different weights (the seed is actually used).
sed 's/"seed": 7/"seed": 8/' "$TMP/det.json" >"$TMP/det8.json"
if train resnet2 "$TMP/det8.json" det8 && ! cmp -s "$TMP/det1.ckpt" "$TMP/det8.ckpt"; then pass seed_matters
else fail seed_matters "seed 8 gave the same checkpoint as seed 7 (or failed)"; fi

# 3. Interoperability: Python's safetensors + numpy read the checkpoints with PyTorch names/shapes.
VPY=$ROOT/.venv/bin/python
if [ -x "$VPY" ] && "$VPY" -c 'import numpy, safetensors' 2>/dev/null; then
  if "$VPY" - "$TMP/learn.ckpt" "$TMP/det1.ckpt" <<'PY' >"$TMP/interop.out" 2>&1
import sys, numpy as np
from safetensors.numpy import load_file
from safetensors import safe_open
def bn(name, ni, nf, k=3):
    return {f"{name}.conv.weight": (nf, ni, k, k), f"{name}.a": (nf, 1, 1), f"{name}.m": (nf, 1, 1),
            f"{name}.means": (nf, 1, 1), f"{name}.stds": (nf, 1, 1)}
# convbnnet: ConvBnNet([10, 20, 40, 80, 160], 10)
l = [10, 20, 40, 80, 160]
want = {"conv1.weight": (10, 3, 5, 5), "conv1.bias": (10,), "out.weight": (10, 160), "out.bias": (10,)}
for i in range(4): want.update(bn(f"layers.{i}", l[i], l[i + 1]))
# resnet2: Resnet2([16, 32, 128, 256], 10, p=0.2)
l2 = [16, 32, 128, 256]
want2 = dict(bn("conv1", 3, 16, 7)); want2.update({"out.weight": (10, 256), "out.bias": (10,)})
for i in range(3):
    want2.update(bn(f"layers.{i}", l2[i], l2[i + 1]))
    want2.update(bn(f"layers2.{i}", l2[i + 1], l2[i + 1]))
    want2.update(bn(f"layers3.{i}", l2[i + 1], l2[i + 1]))
for path, w, arch in ((sys.argv[1], want, "convbnnet"), (sys.argv[2], want2, "resnet2")):
    sd = load_file(path)
    assert set(sd) == set(w), (arch, sorted(set(sd) ^ set(w)))
    for k, shape in w.items():
        assert sd[k].shape == shape, (k, sd[k].shape, shape)
        assert sd[k].dtype == np.float32, (k, sd[k].dtype)
        assert np.isfinite(sd[k]).all(), k
    for k in sd:
        if k.endswith(".stds"): assert (sd[k] > 0).all(), k
    with safe_open(path, "np") as f:
        meta = f.metadata()
    for key in ("arch", "seed", "epochs", "mean", "std", "params_hash", "model_hash"):
        assert key in meta, key
    assert meta["arch"] == arch and len(meta["mean"].split(",")) == 3
print("ok")
PY
  then pass interop_python; else fail interop_python "$(cat "$TMP/interop.out")"; fi
else
  skip interop_python "no .venv with numpy and safetensors (run make deps)"
fi

# 4. A NaN/inf loss (lr 1e6) stops with an error naming epoch and iteration and writes nothing.
cat >"$TMP/nan.json" <<'JSON'
{"seed": 0, "batch_size": 64, "momentum": 0.9, "augment": {"pad": 4, "flip": true},
 "lr_find": {"start_lr": 1e-5, "end_lr": 10}, "phases": [{"lr": 1000000, "n_cycle": 2}]}
JSON
mkdir -p "$TMP/nan"
expect_error nan_loss_error 'train: epoch [0-9]+, iteration [0-9]+.*loss is (nan|infinite)' \
  "$BIN/train" --model "$ROOT/models/simplenet.json" --params "$TMP/nan.json" --data "$ART/data" \
  --stats "$ART/stats.json" --ckpt "$TMP/nan/x.ckpt" --metrics "$TMP/nan/x.metrics.json" --summary "$TMP/nan/x.summary.json"
if [ -z "$(ls -A "$TMP/nan")" ]; then pass nan_loss_no_outputs; else fail nan_loss_no_outputs "$(ls -A "$TMP/nan")"; fi

# 5. lr_find: at most one epoch, lr_t = 1e-5 * 1e6^(t/nb), smoothed loss, weights not kept.
if "$BIN/lrfind" --model "$ROOT/models/convbnnet.json" --params "$TMP/learn.json" --data "$ART/data" \
     --stats "$ART/stats.json" --out "$TMP/lrf.json" >"$TMP/lrf.out" 2>"$TMP/lrf.err" &&
   "${PYTHON:-python3}" - "$TMP/lrf.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
nb = d["iterations"]
assert nb == 47 and d["arch"] == "convbnnet"
n = len(d["lr"])
assert n == len(d["loss"]) and 11 < n <= nb
for t, lr in enumerate(d["lr"]):
    assert abs(lr - 1e-5 * (1e6 ** (1 / nb)) ** t) <= 1e-12 * max(1, lr), (t, lr)
assert d["stopped_early"] == (n < nb)
if d["stopped_early"]:   # the stop rule held at every recorded point
    best = 1e9
    for t, l in enumerate(d["loss"]):
        assert not l > 4 * best
        if l < best and t > 10: best = l
PY
then pass lrfind_schedule; else fail lrfind_schedule "$(cat "$TMP/lrf.err" "$TMP/lrf.out")"; fi
no_leftovers no_temporaries "$TMP"
finish
