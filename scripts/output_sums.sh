#!/usr/bin/env bash
# output_sums.sh BIN OUT: fingerprints of every result the programs in BIN produce, to prove that a
# refactoring changed none (run it with the binaries of two commits and diff the two sums.txt).
# On ../shared/data/cifar-mini.tgz: sort and stats, then for every models/*.json train, lrfind and
# evaluate with params/quick/<arch>.json, plus longer convbnnet and resnet2 runs (whole epochs),
# all with 2 threads. OUT/sums.txt lists the sha256 of each checkpoint, eval, probabilities,
# lr-finder curve and summary, and of each metrics file with its wall-clock fields removed.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$1 OUT=$2
rm -rf "$OUT"; mkdir -p "$OUT"
"$BIN/sort" --archive ${SHARED_DATA:-$ROOT/../shared/data}/cifar-mini.tgz --out "$OUT/art" >/dev/null
"$BIN/stats" --data "$OUT/art/data/train.safetensors" --out "$OUT/art/stats.json" >/dev/null
cat > "$OUT/long.json" <<'J'
{"seed": 3, "batch_size": 64, "momentum": 0.9, "augment": {"pad": 4, "flip": true},
 "lr_find": {"start_lr": 1e-5, "end_lr": 10},
 "phases": [{"lr": 0.03, "n_cycle": 1}, {"lr": 0.1, "n_cycle": 2, "cycle_len": 1, "wd": 1e-5}]}
J
sed 's/"lr": 0.1,/"lr": 0.01,/; s/"lr": 0.03,/"lr": 0.005,/' "$OUT/long.json" > "$OUT/long_small_lr.json"
run() { # arch params tag
  "$BIN/train" --model $ROOT/models/$1.json --params $2 --data "$OUT/art/data" --stats "$OUT/art/stats.json" --threads 2 \
    --ckpt "$OUT/$3.ckpt" --metrics "$OUT/$3.metrics.json" --summary "$OUT/$3.summary.json" >/dev/null 2>&1
  "$BIN/lrfind" --model $ROOT/models/$1.json --params $2 --data "$OUT/art/data" --stats "$OUT/art/stats.json" --threads 2 \
    --out "$OUT/$3.lrfind.json" >/dev/null 2>&1
  "$BIN/evaluate" --model $ROOT/models/$1.json --ckpt "$OUT/$3.ckpt" --params $ROOT/params/quick/eval.json --data "$OUT/art/data" \
    --stats "$OUT/art/stats.json" --threads 2 --eval "$OUT/$3.eval.json" --probs "$OUT/$3.probs.safetensors" >/dev/null 2>&1
}
for m in "$ROOT"/models/*.json; do a=$(basename "$m" .json); run "$a" "$ROOT/params/quick/$a.json" "$a"; done
run convbnnet "$OUT/long.json" convbnnet_long
run resnet2 "$OUT/long_small_lr.json" resnet2_long
cd "$OUT"
for f in *.ckpt *.eval.json *.probs.safetensors *.lrfind.json *.summary.json; do sha256sum "$f"; done > sums.txt
for f in *.metrics.json; do
  "${PYTHON:-python3}" -c "
import json,sys
def strip(o):
    if isinstance(o, dict): return {k: strip(v) for k, v in o.items() if not (k.endswith('seconds') or k == 'images_per_second')}
    if isinstance(o, list): return [strip(v) for v in o]
    return o
print(json.dumps(strip(json.load(open(sys.argv[1]))), sort_keys=True))" "$f" | sha256sum | sed "s|-|$f (no wall-clock)|"
done >> sums.txt
