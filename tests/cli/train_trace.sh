#!/usr/bin/env bash
# train_trace (tests/tools), the C side of tests/bench/airbench_match.py: the train stage's loop on
# the first batches in file order, unaugmented, with the net written before and after. Checked
# here without PyTorch: it runs the steps the params ask for; frozen tensors (the whitening conv's
# weight, BatchNorm weights) are the same bytes before and after while trained ones move; a rerun
# gives the same bytes; and only the first batches are read (a label past them changes nothing,
# the first image's label changes the result), which is what lets PyTorch be fed the same batches.
source "$(dirname "$0")/../lib.sh"
TRACE=$TOOLS/train_trace
for b in "$BIN/sort" "$BIN/stats" "$TRACE"; do [ -x "$b" ] || { skip train_trace "$b not built"; finish; }; done
ART=$TMP/art
mini_artifacts train_trace_data "$ART"
PY=${PYTHON:-python3}

# airbench's rules at batch 64, 4 batches per epoch (limit_batches), 2.5 epochs: ceil(10) = 10 steps
cat >"$TMP/p.json" <<'JSON'
{"seed": 1, "batch_size": 64, "momentum": 0.85, "nesterov": true, "bias_lr_scale": 64, "drop_last": true,
 "loss": {"label_smoothing": 0.2, "reduction": "sum"},
 "augment": {"pad": 2, "flip": true, "pad_mode": "reflect", "crop": "all", "flip_mode": "alternate"},
 "lookahead": {"every": 5, "decay": 0.95, "power": 3}, "freeze": [{"tensor": "0.bias", "after_epochs": 1}],
 "lr_find": {"start_lr": 1e-07, "end_lr": 1}, "limit_batches": 4,
 "phases": [{"lr": 11.5, "wd": 0.0153, "epochs": 2.5, "units": "kilostep", "wd_mode": "decoupled",
             "schedule": {"type": "triangle", "start": 0.2, "peak": 0.23, "end": 0.07}}]}
JSON
trace() {   # trace DIR DATA
  mkdir -p "$1"
  "$TRACE" --model "$ROOT/tests/models/airbench94_small.json" --params "$TMP/p.json" --data "$2" \
    --stats "$ART/stats.json" --threads 2 --init "$1/init.ckpt" --final "$1/final.ckpt" --metrics "$1/m.json" \
    >"$1/out" 2>"$1/err"
}
# a copy of the data with the label of image $2 changed
relabel() {   # relabel DIR INDEX
  mkdir -p "$1"
  cp "$ART/data/test.safetensors" "$1/"
  "$PY" - "$ART/data/train.safetensors" "$1/train.safetensors" "$2" <<'PY'
import json, struct, sys
src, dst, i = sys.argv[1], sys.argv[2], int(sys.argv[3])
b = bytearray(open(src, "rb").read())
n = struct.unpack("<Q", b[:8])[0]
lab = json.loads(b[8:8 + n])["labels"]["data_offsets"][0] + 8 + n + i
b[lab] = (b[lab] + 1) % 10
open(dst, "wb").write(b)
PY
}

if ! trace "$TMP/a" "$ART/data"; then fail train_trace_runs "$(cat "$TMP/a/err")"; finish; fi
pass train_trace_runs
if "$PY" - "$TMP/a" <<'PY' >"$TMP/check.out" 2>&1
import json, struct, sys
d = sys.argv[1]
def tensors(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n])
    return {k: b[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]] for k, v in h.items() if k != "__metadata__"}
m = json.load(open(f"{d}/m.json"))
assert len(m["iterations"]["loss"]) == 10, len(m["iterations"]["loss"])
assert m["batches_per_epoch"] == 4, m["batches_per_epoch"]
i, f = tensors(f"{d}/init.ckpt"), tensors(f"{d}/final.ckpt")
assert i.keys() == f.keys()
for k in ("0.weight", "2.norm1.weight", "4.norm2.weight"):
    assert i[k] == f[k], f"{k} is frozen but changed"
for k in ("0.bias", "2.conv1.weight", "2.norm1.bias", "2.norm1.running_mean", "7.weight"):
    assert i[k] != f[k], f"{k} did not move"
PY
then pass train_trace_steps_and_frozen; else fail train_trace_steps_and_frozen "$(cat "$TMP/check.out")"; fi

trace "$TMP/b" "$ART/data" && cmp -s "$TMP/a/final.ckpt" "$TMP/b/final.ckpt" \
  && pass train_trace_deterministic || fail train_trace_deterministic "a rerun wrote other bytes"

# 4 batches of 64 read: image 256 is never seen, image 0 is in the first batch
relabel "$TMP/d256" 256 && trace "$TMP/c" "$TMP/d256" && cmp -s "$TMP/a/final.ckpt" "$TMP/c/final.ckpt" \
  && pass train_trace_reads_only_first_batches || fail train_trace_reads_only_first_batches "image 256's label changed the result"
relabel "$TMP/d0" 0 && trace "$TMP/e" "$TMP/d0" && ! cmp -s "$TMP/a/final.ckpt" "$TMP/e/final.ckpt" \
  && pass train_trace_reads_first_image || fail train_trace_reads_first_image "image 0's label changed nothing"
finish
