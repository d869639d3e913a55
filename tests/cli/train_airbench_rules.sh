#!/usr/bin/env bash
# train with airbench's training rules (issue 14) on an existing model (convnet, cifar-mini):
# Nesterov SGD in kilostep units with decoupled weight decay, label smoothing 0.2 with the loss
# summed, fractional epochs with drop_last, the triangle schedule, lookahead, a frozen tensor,
# torch-reflect translation by 2 and alternating flips. The loss falls; the metrics record the
# steps (ceil(batches * epochs)), the epochs and the triangle's lrs; a run stopped in the middle
# (the lookahead copy in its state) and rerun ends with the bytes of an uninterrupted run.
source "$(dirname "$0")/../lib.sh"
B=$ROOT/${BUILD:-build}/bin
for b in sort stats train; do [ -x "$B/$b" ] || { skip train_airbench_rules "$B/$b not built"; finish; }; done
ART=$TMP/art
mini_artifacts train_airbench_rules_data "$ART"
PY=${PYTHON:-python3}

# 3,000 images at 256 with drop_last: 11 batches; 2.5 epochs: ceil(27.5) = 28 steps in 3 epochs.
cat >"$TMP/p.json" <<'JSON'
{"seed": 3, "batch_size": 256, "momentum": 0.85, "nesterov": true, "bias_lr_scale": 64,
 "drop_last": true, "loss": {"label_smoothing": 0.2, "reduction": "sum"},
 "augment": {"pad": 2, "flip": true, "pad_mode": "reflect", "crop": "all", "flip_mode": "alternate"},
 "lookahead": {"every": 5, "decay": 0.95, "power": 3},
 "freeze": [{"tensor": "layers.0.bias", "after_epochs": 1}],
 "lr_find": {"start_lr": 1e-5, "end_lr": 10},
 "phases": [{"lr": 8.0, "wd": 0.005, "epochs": 2.5, "units": "kilostep", "wd_mode": "decoupled",
             "schedule": {"type": "triangle", "start": 0.2, "peak": 0.23, "end": 0.07}}]}
JSON
train() {
  mkdir -p "$1"
  "$B/train" --model "$ROOT/models/convnet.json" --params "$TMP/p.json" --data "$ART/data" --stats "$ART/stats.json" \
    --threads 2 --ckpt "$1/m.ckpt" --metrics "$1/m.metrics.json" --summary "$1/m.summary.json" >"$1/out" 2>>"$1/err"
}
if train "$TMP/ref"; then
  if "$PY" - "$TMP/ref/m.metrics.json" <<'PY' >"$TMP/check.out" 2>&1
import json, sys
m = json.load(open(sys.argv[1]))
assert m["batches_per_epoch"] == 11, m["batches_per_epoch"]
lr, loss = m["iterations"]["lr"], m["iterations"]["loss"]
assert len(lr) == len(loss) == 28, len(lr)                       # ceil(11 * 2.5)
assert [e["epoch"] for e in m["epochs"]] == [0, 1, 2]
assert m["train_images"] == 28 * 256                             # drop_last: full batches only
scale = 1024 * (1 + 1 / (1 - 0.85))                               # kilostep
T, w = 28, int(28 * 0.23)
for t in range(T):                                               # airbench's get_lr
    f = 0.2 * (1 - t / w) + t / w if t < w else (1 - (t - w) / (T - w)) + 0.07 * (t - w) / (T - w)
    assert abs(lr[t] - 8.0 / scale * f) < 1e-12, (t, lr[t], 8.0 / scale * f)
first, last = sum(loss[:4]) / 4, sum(loss[-4:]) / 4
assert first > 256 * 1.5, first                                  # a summed loss (per image ~ln 10)
assert last < 0.97 * first, (first, last)                         # it falls
assert m["epochs"][-1]["accuracy"] > 0.15, m["epochs"][-1]
r = m["rules"]                                                   # what ran
assert r["optimizer"] == "sgd_nesterov" and r["bias_lr_scale"] == 64 and r["label_smoothing"] == 0.2
assert r["loss_reduction"] == "sum" and r["drop_last"] and r["flip_mode"] == "alternate"
assert r["pad_mode"] == "reflect" and r["crop"] == "all"
assert r["lookahead"] == {"every": 5, "decay": 0.95, "power": 3}
assert r["freeze"] == [{"tensor": "layers.0.bias", "after_epochs": 1}]
ph = r["phases"][0]
assert ph["steps"] == 28 and ph["schedule"] == "triangle" and ph["wd_mode"] == "decoupled"
assert abs(ph["lr"] - 8.0 / scale) < 1e-15 and abs(ph["wd"] - 0.005 * 256 / scale) < 1e-15
print("ok", first, last, m["epochs"][-1]["accuracy"])
PY
  then pass "airbench rules train convnet: $(cat "$TMP/check.out")"; else fail airbench_rules_metrics "$(cat "$TMP/check.out")"; fi
else
  fail airbench_rules_train "$(cat "$TMP/ref/err")"
fi

# Stopped after the 2nd state write (inside epoch 0, lookahead running) and rerun: the same bytes.
sed 's/"lr_find"/"state_every": 4, "lr_find"/' "$TMP/p.json" >"$TMP/p4.json" && mv "$TMP/p4.json" "$TMP/p.json"
train "$TMP/ref4" || fail straight_with_states "$(cat "$TMP/ref4/err")"
CIFAR_TEST_KILL=rename:.state:2 train "$TMP/kill"; rc=$?
if [ "$rc" -eq 137 ] && [ -e "$TMP/kill/m.state" ]; then
  if "$PY" -c "import sys; d=open(sys.argv[1],'rb').read(); sys.exit(0 if b'\"la.layers.0.weight\"' in d else 1)" "$TMP/kill/m.state"
  then pass "state holds the lookahead copy"; else fail state_lookahead "no la.* tensors in the state"; fi
  train "$TMP/kill"
  if cmp -s "$TMP/ref4/m.ckpt" "$TMP/kill/m.ckpt" &&
     cmp -s <(grep -v -E '"[a-z_]*seconds"|"images_per_second"' "$TMP/ref4/m.metrics.json") \
            <(grep -v -E '"[a-z_]*seconds"|"images_per_second"' "$TMP/kill/m.metrics.json"); then
    pass "resumed run = uninterrupted run (lookahead, freeze, triangle)"
  else fail resume_airbench "outputs differ: $(cat "$TMP/kill/err")"; fi
else
  fail kill_point "exit $rc, expected 137 with a state: $(cat "$TMP/kill/err")"
fi
# A "freeze" entry naming no tensor of the model: one line naming the file and the key, no outputs.
sed 's/"tensor": "layers.0.bias"/"tensor": "whiten.bias"/' "$TMP/p.json" >"$TMP/bad.json"
mkdir -p "$TMP/bad"
expect_error freeze_unknown_tensor 'bad\.json: freeze\[0\]\.tensor: the model has no tensor "whiten\.bias"' \
  "$B/train" --model "$ROOT/models/convnet.json" --params "$TMP/bad.json" --data "$ART/data" --stats "$ART/stats.json" \
  --ckpt "$TMP/bad/m.ckpt" --metrics "$TMP/bad/m.metrics.json" --summary "$TMP/bad/m.summary.json"
[ -z "$(ls -A "$TMP/bad")" ] && pass freeze_unknown_no_outputs || fail freeze_unknown_no_outputs "$(ls -A "$TMP/bad")"
no_leftovers no_temporaries "$TMP"
finish
