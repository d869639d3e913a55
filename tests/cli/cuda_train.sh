#!/usr/bin/env bash
# CUDA against the CPU on a whole training run: convbnnet, 100 iterations (2 epochs of 50 batches
# of 32) on ../shared/data/cifar-mini.tgz with the same seed on both backends; every iteration's
# loss must agree to 1e-3 relative (cuDNN with TF32 off, CUDA_TF32=0). Then deterministic mode:
# two GPU runs with "deterministic": true give byte-identical checkpoints.
# Without a GPU (no /dev/nvidia*, no GPU in nvidia-smi -L) every case is SKIP. Where a GPU is
# visible every case runs or FAILs: a CUDA that does not start, a stage that trains on the CPU
# behind DEVICE=cuda, or a missing module is a failure, never a skip.
source "$(dirname "$0")/../lib.sh"
for b in sort stats train; do
  [ -x "$BIN/$b" ] || { skip cuda_train "${BUILD:-build}/bin/$b not built"; finish; }
done
PROBE=$ROOT/${BUILD:-build}/tests/unit/test_cuda_train
[ -x "$PROBE" ] || { skip cuda_train "${BUILD:-build}/tests/unit/test_cuda_train not built"; finish; }
if ! "$PROBE" --gpu-visible; then
  skip cuda_cpu_loss_parity "no GPU visible (no /dev/nvidia*, no GPU in nvidia-smi -L)"
  skip cuda_deterministic_checkpoint "no GPU visible"
  skip cuda_graph_equals_uncaptured "no GPU visible"
  finish
fi
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2} CUDA_TF32=0

ART=$TMP/art
mini_artifacts cuda_train_data "$ART"

# train DEVICE PARAMS NAME
train() {
  DEVICE=$1 "$BIN/train" --model "$ROOT/models/convbnnet.json" --params "$2" --data "$ART/data" \
    --stats "$ART/stats.json" --threads 2 --ckpt "$TMP/$3.ckpt" --metrics "$TMP/$3.metrics.json" \
    --summary "$TMP/$3.summary.json" >"$TMP/$3.out" 2>"$TMP/$3.err"
}
device_of() { sed -n 's/.*"device":[[:space:]]*"\([a-z]*\)".*/\1/p' "$1" | head -n 1; }

# Probe: one batch on DEVICE=cuda. A GPU is visible, so any failure here is one.
cat >"$TMP/probe.json" <<'JSON'
{"seed": 0, "batch_size": 32, "momentum": 0.9, "augment": {"pad": 4, "flip": true},
 "lr_find": {"start_lr": 1e-5, "end_lr": 10}, "limit_batches": 1, "phases": [{"lr": 0.01, "n_cycle": 1}]}
JSON
if ! train cuda "$TMP/probe.json" probe; then
  fail cuda_probe "a GPU is visible but DEVICE=cuda train failed: $(cat "$TMP/probe.err")"
  finish
fi
if [ "$(device_of "$TMP/probe.metrics.json")" != cuda ]; then
  fail cuda_probe "the train stage ran on '$(device_of "$TMP/probe.metrics.json")' with DEVICE=cuda"
  finish
fi
pass "cuda_probe ($(grep -m1 ': cuda: ' "$TMP/probe.err" || echo 'no device line'))"

cat >"$TMP/run.json" <<'JSON'
{"seed": 3, "batch_size": 32, "momentum": 0.9, "augment": {"pad": 4, "flip": true},
 "lr_find": {"start_lr": 1e-5, "end_lr": 10}, "limit_batches": 50,
 "phases": [{"lr": 0.03, "n_cycle": 2, "wd": 1e-5}]}
JSON
if train cuda "$TMP/run.json" gpu && train cpu "$TMP/run.json" cpu; then
  if "${PYTHON:-python3}" - "$TMP/cpu.metrics.json" "$TMP/gpu.metrics.json" <<'PY' >"$TMP/cmp.out" 2>&1
import json, sys
c = json.load(open(sys.argv[1])); g = json.load(open(sys.argv[2]))
assert c["device"] == "cpu" and g["device"] == "cuda", (c["device"], g["device"])
lc, lg = c["iterations"]["loss"], g["iterations"]["loss"]
assert len(lc) == len(lg) == 100, (len(lc), len(lg))
worst = max(abs(a - b) / abs(a) for a, b in zip(lc, lg))
print(f"worst relative loss difference over 100 iterations: {worst:.3g} (tol 1e-3)")
assert worst <= 1e-3
PY
  then pass "cuda_cpu_loss_parity ($(cat "$TMP/cmp.out"))"
  else fail cuda_cpu_loss_parity "$(cat "$TMP/cmp.out")"; fi
else
  fail cuda_cpu_loss_parity "training failed: $(cat "$TMP/gpu.err" "$TMP/cpu.err" 2>/dev/null)"
fi

# Deterministic mode: two runs, the same checkpoint bytes.
sed 's/"seed": 3,/"seed": 3, "deterministic": true,/' "$TMP/run.json" >"$TMP/det.json"
if train cuda "$TMP/det.json" det1 && train cuda "$TMP/det.json" det2; then
  if cmp -s "$TMP/det1.ckpt" "$TMP/det2.ckpt"; then pass cuda_deterministic_checkpoint
  else fail cuda_deterministic_checkpoint "two deterministic GPU runs gave different checkpoints"; fi
else
  fail cuda_deterministic_checkpoint "training failed: $(cat "$TMP/det1.err" "$TMP/det2.err" 2>/dev/null)"
fi
# The device loop: graph replay (the default) against NET_GRAPH=0 (every step uncaptured) in
# deterministic mode: the same checkpoint bytes, and the metrics say graphs were used.
if [ -f "$TMP/det1.ckpt" ]; then
  if NET_GRAPH=0 train cuda "$TMP/det.json" nograph; then
    steps=$(sed -n 's/.*"graph_steps":[[:space:]]*\([0-9]*\).*/\1/p' "$TMP/det1.metrics.json" | head -n 1)
    if cmp -s "$TMP/det1.ckpt" "$TMP/nograph.ckpt" && [ "${steps:-0}" -gt 0 ]; then
      pass "cuda_graph_equals_uncaptured ($steps steps replayed)"
    else fail cuda_graph_equals_uncaptured "checkpoints differ or no step replayed (graph_steps=${steps:-none})"; fi
  else
    fail cuda_graph_equals_uncaptured "training failed: $(cat "$TMP/nograph.err")"
  fi
else
  fail cuda_graph_equals_uncaptured "no deterministic GPU checkpoint to compare with"
fi
no_leftovers no_temporaries "$TMP"
finish
