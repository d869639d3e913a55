#!/usr/bin/env bash
# run_fuzzer.sh NAME BINARY FUZZ_DIR SECONDS [libFuzzer options...]: runs one harness for SECONDS
# over its seed corpus and recorded crashes (read only: libFuzzer adds new inputs to the first
# folder only, FUZZ_DIR/corpus/NAME), writes a crashing input to FUZZ_DIR/crashes/NAME/, and
# prints one line: executions, executions/s, coverage (cov = edges, ft = features), corpus size.
# Exits nonzero when the harness crashed (the sanitizer's report is printed).
set -u
name=$1 bin=$2 dir=$3 seconds=$4
shift 4
work=$dir/corpus/$name crashes=$dir/crashes/$name log=$dir/fuzz-$name.log
mkdir -p "$work" "$crashes"
seeds=()
for d in tests/fuzz/corpus/$name tests/fuzz/crashes/$name; do [ -d "$d" ] && seeds+=("$d"); done
# Dictionaries: the JSON readers share json.dict (safetensors headers are JSON too).
case $name in
  safetensors|params|model|report) dict=(-dict=tests/fuzz/json.dict) ;;
  png) dict=(-dict=tests/fuzz/png.dict) ;;
  *) dict=() ;;
esac
"$bin" -max_total_time="$seconds" -timeout=10 -malloc_limit_mb=256 -print_final_stats=1 -close_fd_mask=2 \
  -artifact_prefix="$crashes/" "${dict[@]}" "$@" "$work" "${seeds[@]}" >"$log" 2>&1
rc=$?
done_line=$(grep -E '^#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE|INITED)' "$log" | tail -n 1)
cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$done_line")
ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$done_line")
corp=$(sed -n 's/.* corp: \([0-9]*\/[0-9A-Za-z]*\).*/\1/p' <<<"$done_line")
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log")
printf 'fuzz: %-12s %ss: %s runs, %s exec/s, cov %s, ft %s, corpus %s, peak RSS %s MB\n' \
  "$name" "$seconds" "${runs:-?}" "${eps:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "${rss:-?}"
if [ "$rc" -ne 0 ]; then
  grep -E -A 40 '^==[0-9]+==ERROR|runtime error|^==[0-9]+== ERROR|deadly signal|ERROR: libFuzzer' "$log" | head -n 60
  echo "fuzz: $name: crashed (exit $rc); input saved in $crashes/, log $log"
  echo "fuzz: add the input to tests/fuzz/crashes/$name/ once it is fixed"
  exit 1
fi
