#!/usr/bin/env bash
# Build rules: -MMD -MP dependency files make a header edit recompile exactly the sources that
# include it (checked with make's "what if" flag -W, so nothing is touched), and a built tree is a
# no-op for make.
source "$(dirname "$0")/../lib.sh"
cd "$ROOT"

if make -q all 2>/dev/null; then pass built_tree_is_up_to_date
else fail built_tree_is_up_to_date "make -q all says something is out of date"; fi

# How a header is included: its path under lib/ (or tests/), e.g. "io/png_io.h".
include_pattern() { printf '%s\n' "$@" | sed -E 's#^(lib|tests)/##; s/\./\\./g' | paste -sd'|'; }

for header in lib/io/png_io.h lib/io/safetensors.h lib/core/rng.h; do
  name=$(basename "$header" .h)
  # C sources only (the CUDA sources are built only where nvcc is present; benchmarks and fuzzers
  # (mk/fuzz.mk, clang) are not in `all`).
  planned=$(make -n -W "$header" all 2>/dev/null | grep -oE ' -c [^ ]+\.c ' | sed 's/ -c //; s/ $//' | sort -u)
  # Direct and indirect includers: repeat until no new header joins the set.
  want_headers="$header" prev=""
  while [ "$want_headers" != "$prev" ]; do
    prev=$want_headers
    pattern=$(include_pattern $want_headers)
    want_headers=$(printf '%s\n' $want_headers $(grep -lE "#include \"($pattern)\"" $(find lib tests -name '*.h') 2>/dev/null) | sort -u)
  done
  pattern=$(include_pattern $want_headers)
  expected=$(grep -lE "#include \"($pattern)\"" $(find lib stages tests -name '*.c' -not -path 'tests/bench/*' -not -path 'tests/fuzz/*') 2>/dev/null | sort -u)
  if [ -n "$planned" ] && [ "$planned" = "$expected" ]; then pass "header_edit_rebuilds_includers_$name"
  else fail "header_edit_rebuilds_includers_$name" "planned: $(echo $planned) expected: $(echo $expected)"; fi
done
finish
