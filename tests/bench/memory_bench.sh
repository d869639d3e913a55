#!/usr/bin/env bash
# memory_bench.sh: peak resident memory of every stage on the full data set (`make bench`, from
# mk/memory.mk). Runs fetch, sort, stats, then lrfind, train and evaluate of each architecture and
# the report, each under tests/tools/peak_rss (getrusage(RUSAGE_CHILDREN).ru_maxrss), into its
# own folder, and prints one table. train and lrfind read a params file with limit_batches
# (BENCH_MEM_BATCHES batches of 256, default 4): memory peaks in the first batches (the data and
# the net are allocated before the first one), so the figure is the full run's at a fraction of
# its time; evaluate uses one TTA pass (n_aug changes only the few MB of probabilities).
# Fails when training resnet2 exceeds RESNET2_MAX_MIB (3072: the issue's 3 GiB budget on the CPU).
# Environment: URL (the archive, e.g. file://.../cifar.tgz), ARCHS, THREADS, BIN (build/bin),
# PEAK_RSS (build/tests/tools/peak_rss), OUT (build/bench/memory), DATA_PARAMS (params/data.json).
set -u
cd "$(dirname "$0")/../.."
BIN=${BIN:-build/bin} PEAK_RSS=${PEAK_RSS:-build/tests/tools/peak_rss} OUT=${OUT:-build/bench/memory}
ARCHS=${ARCHS:-$(for f in models/*.json; do basename "$f" .json; done)}
THREADS=${THREADS:-0} BATCHES=${BENCH_MEM_BATCHES:-4} RESNET2_MAX_MIB=${RESNET2_MAX_MIB:-3072}
DATA_PARAMS=${DATA_PARAMS:-params/data.json}
rm -rf "$OUT"; mkdir -p "$OUT/art"
rss=$OUT/rss.txt

# run LABEL COMMAND...: one stage under peak_rss, its output in $OUT/LABEL.log; stops on failure.
run() {
  local label=$1; shift
  "$PEAK_RSS" -o "$rss" -l "$label" "$@" >"$OUT/$label.log" 2>&1 || {
    tail -n 20 "$OUT/$label.log"; echo "memory bench: $label failed (log: $OUT/$label.log)"; exit 1; }
}

cat >"$OUT/train.json" <<J
{"seed": 0, "batch_size": 256, "momentum": 0.9, "augment": {"pad": 4, "flip": true},
 "lr_find": {"start_lr": 1e-5, "end_lr": 10, "limit_batches": $BATCHES}, "limit_batches": $BATCHES,
 "phases": [{"lr": 0.01, "n_cycle": 1, "cycle_len": 1, "wd": 1e-6}]}
J
echo '{"n_aug": 1, "batch_size": 256, "seed": 0}' >"$OUT/eval.json"
art=$OUT/art
common=(--data "$art/data" --stats "$art/stats.json" --threads "$THREADS")

run fetch "$BIN/fetch" --params "$DATA_PARAMS" ${URL:+--url "$URL"} --out "$OUT/cifar.tgz"
run sort "$BIN/sort" --archive "$OUT/cifar.tgz" --out "$art"
run stats "$BIN/stats" --data "$art/data/train.safetensors" --out "$art/stats.json"
for a in $ARCHS; do
  run "lrfind:$a" "$BIN/lrfind" --model "models/$a.json" --params "$OUT/train.json" "${common[@]}" --out "$art/$a.lrfind.json"
  run "train:$a" "$BIN/train" --model "models/$a.json" --params "$OUT/train.json" "${common[@]}" \
    --ckpt "$art/$a.ckpt" --metrics "$art/$a.metrics.json" --summary "$art/$a.summary.json"
  run "evaluate:$a" "$BIN/evaluate" --model "models/$a.json" --ckpt "$art/$a.ckpt" --params "$OUT/eval.json" \
    "${common[@]}" --eval "$art/$a.eval.json" --probs "$art/$a.probs.safetensors"
done
run report "$BIN/report" --art "$art" --out "$OUT/report" --models models $ARCHS

images=$(grep -o '"count": *[0-9]*' "$art/stats.json" | grep -o '[0-9]*$')
echo "memory: peak resident set per stage (getrusage ru_maxrss), $images training images, THREADS=$THREADS;"
echo "  lrfind, train: $BATCHES batches of 256 (limit_batches; train adds its validation pass); evaluate: 1 TTA pass"
awk -v lim="$RESNET2_MAX_MIB" '
  { split($1, p, ":"); mib = $2 / 1024; printf "  %-10s %-11s %8.1f MiB\n", p[1], p[2], mib
    if ($1 == "train:resnet2") { seen = 1; r2 = mib } }
  END { if (seen) { printf "  train resnet2: %.1f MiB of the %d MiB budget: %s\n", r2, lim, r2 <= lim ? "ok" : "OVER";
                    if (r2 > lim) exit 1 } }' "$rss"
