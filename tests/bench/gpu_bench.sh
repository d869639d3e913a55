#!/usr/bin/env bash
# gpu_bench.sh: training throughput of this project on the GPU against PyTorch (eager and
# torch.compile) running the same models, batch size (256) and GPU-side augmentation on the same
# GPU in the same run (tests/bench/torch_bench.py). Prints, per architecture, images/s and the
# full-data epoch time (one pass over the training set + one evaluation pass over the test set,
# the same definition on both sides; the best of the timed epochs after a warm-up epoch), the
# achieved TFLOP/s (same FLOP count for both: 6 x conv/linear multiply-adds per image), and the
# ratios ours / eager and ours / compile. Then resnet2's full 41-epoch schedule estimated from
# its epoch time, plus a measured TTA evaluation. No assertion on times: it reports.
#
# Data: $ART/data (default artifacts/, `make artifacts/data/train.safetensors`), else sorted here
# from ../shared/data/cifar.tgz, else the 3,000-image mini archive (times then scaled per image).
# Environment: ARCHS (default every models/*.json), EPOCHS (timed epochs, default 2), PYTHON (with torch),
# TORCH_MODES (default eager,compile). Without a GPU it prints one skip line and exits 0.
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
ARCHS=${ARCHS:-$(for f in models/*.json; do basename "$f" .json; done)}
EPOCHS=${EPOCHS:-2}
PY=${PYTHON:-python3}
[ -x "$ROOT/.venv/bin/python" ] && [ -z "${PYTHON:-}" ] && PY=$ROOT/.venv/bin/python
SHARED_DATA=${SHARED_DATA:-$ROOT/../shared/data}
OUT=build/gpu-bench
mkdir -p "$OUT"

for b in build/bin/train build/bin/evaluate build/bin/sort build/bin/stats build/tests/unit/test_cuda_train; do
  [ -x "$b" ] || { echo "gpu_bench: skipped: $b not built (make)"; exit 0; }
done
if ! build/tests/unit/test_cuda_train --gpu-available; then
  echo "gpu_bench: skipped: no CUDA device visible (or no CUDA backend in this build)"
  exit 0
fi

# ---- data ----
ART=${ART:-artifacts}
if [ ! -f "$ART/data/train.safetensors" ] || [ ! -f "$ART/data/test.safetensors" ] || [ ! -f "$ART/stats.json" ]; then
  ART=$OUT/art
  if [ ! -f "$ART/stats.json" ]; then
    src=$SHARED_DATA/cifar.tgz
    [ -f "$src" ] || src=$SHARED_DATA/cifar-mini.tgz
    [ -f "$src" ] || { echo "gpu_bench: no data: need artifacts/data or $SHARED_DATA/cifar.tgz"; exit 1; }
    echo "gpu_bench: sorting $src into $ART"
    build/bin/sort --archive "$src" --out "$ART" >/dev/null &&
      build/bin/stats --data "$ART/data/train.safetensors" --out "$ART/stats.json" >/dev/null || exit 1
  fi
fi
# image counts from the safetensors headers (first tensor's first dimension)
count() {
  "$PY" - "$1" <<'PY'
import json, struct, sys
with open(sys.argv[1], "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    h = json.loads(f.read(n))
print(min(v["shape"][0] for k, v in h.items() if k != "__metadata__"))
PY
}
NTRAIN=$(count "$ART/data/train.safetensors") NTEST=$(count "$ART/data/test.safetensors")
echo "gpu_bench: $NTRAIN training and $NTEST test images from $ART; warm-up epoch + $EPOCHS timed epochs per model"

# ---- this project ----
declare -A OURS_IPS OURS_EP
wd_of() { case $1 in resnet) echo 1e-5 ;; resnet2) echo 1e-6 ;; *) echo 0 ;; esac; }
for a in $ARCHS; do
  cat >"$OUT/$a.params.json" <<JSON
{"seed": 0, "batch_size": 256, "momentum": 0.9, "augment": {"pad": 4, "flip": true},
 "lr_find": {"start_lr": 1e-5, "end_lr": 10}, "phases": [{"lr": 0.01, "n_cycle": $((EPOCHS + 1)), "wd": $(wd_of "$a")}]}
JSON
  if ! DEVICE=cuda build/bin/train --model "models/$a.json" --params "$OUT/$a.params.json" --data "$ART/data" \
       --stats "$ART/stats.json" --ckpt "$OUT/$a.ckpt" --metrics "$OUT/$a.metrics.json" \
       --summary "$OUT/$a.summary.json" >"$OUT/$a.out" 2>"$OUT/$a.err"; then
    echo "  $a: train failed: $(tail -n 1 "$OUT/$a.err")"; continue
  fi
  read -r dev ep < <("$PY" - "$OUT/$a.metrics.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
print(m["device"], min(e["seconds"] for e in m["epochs"][1:]))
PY
)
  if [ "$dev" != cuda ]; then echo "  $a: the train stage ran on '$dev' with DEVICE=cuda; not a GPU number"; continue; fi
  OURS_EP[$a]=$ep
  OURS_IPS[$a]=$(awk -v n="$NTRAIN" -v e="$ep" 'BEGIN { printf "%.1f", n / e }')
  echo "  ours  $a: ${OURS_IPS[$a]} images/s, epoch $ep s"
done

# ---- PyTorch ----
declare -A TORCH GFLOP
if "$PY" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  "$PY" tests/bench/torch_bench.py --archs "$(echo $ARCHS | tr ' ' ',')" --modes "${TORCH_MODES:-eager,compile}" \
    --train-n "$NTRAIN" --test-n "$NTEST" --epochs "$EPOCHS" | tee "$OUT/torch.out"
  while read -r _ a mode ips ep gf; do
    TORCH[$a.$mode]=$ips; GFLOP[$a]=$gf
  done < <(grep '^RESULT ' "$OUT/torch.out")
else
  echo "gpu_bench: no PyTorch with CUDA in $PY: PyTorch columns left empty (set PYTHON)"
fi

# ---- table ----
echo
printf '%-11s %12s %10s %9s %14s %14s %11s %11s\n' arch "ours img/s" "epoch s" TFLOP/s "torch eager" "torch compile" "ours/eager" "ours/compile"
for a in $ARCHS; do
  o=${OURS_IPS[$a]:-nan} e=${TORCH[$a.eager]:-nan} c=${TORCH[$a.compile]:-nan} g=${GFLOP[$a]:-nan}
  awk -v a="$a" -v o="$o" -v ep="${OURS_EP[$a]:-nan}" -v e="$e" -v c="$c" -v g="$g" 'BEGIN {
    tf = (o == "nan" || g == "nan") ? "n/a" : sprintf("%.1f", o * g / 1000)
    re = (o == "nan" || e == "nan" || e == 0) ? "n/a" : sprintf("%.2fx", o / e)
    rc = (o == "nan" || c == "nan" || c == 0) ? "n/a" : sprintf("%.2fx", o / c)
    printf "%-11s %12s %10s %9s %14s %14s %11s %11s\n", a, o, ep, tf, e, c, re, rc }'
done

# ---- resnet2: the full schedule ----
if [ -n "${OURS_EP[resnet2]:-}" ]; then
  t0=$(date +%s.%N)
  if DEVICE=cuda build/bin/evaluate --model models/resnet2.json --ckpt "$OUT/resnet2.ckpt" --params params/eval.json \
       --data "$ART/data" --stats "$ART/stats.json" --eval "$OUT/resnet2.eval.json" \
       --probs "$OUT/resnet2.probs.safetensors" >/dev/null 2>"$OUT/eval.err"; then
    tta=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
  else
    tta=nan; echo "gpu_bench: evaluate failed: $(tail -n 1 "$OUT/eval.err")"
  fi
  awk -v ep="${OURS_EP[resnet2]}" -v n="$NTRAIN" -v tta="$tta" -v g="${GFLOP[resnet2]:-nan}" 'BEGIN {
    s = 50000 / n  # scale a smaller data set to the full 50,000 images
    t = 41 * ep * s
    printf "\nresnet2 full schedule (ESTIMATE: 41 x the measured epoch%s): %.1f s training + %s s TTA evaluation (measured, whole process)\n", (s != 1 ? sprintf(", scaled x%.2f to 50,000 images", s) : ""), t, tta
    if (g != "nan") printf "  training work %.0f TFLOP -> %.1f TFLOP/s achieved\n", 41 * 50000 * g / 1000, 41 * 50000 * g / 1000 / t
  }'
fi
