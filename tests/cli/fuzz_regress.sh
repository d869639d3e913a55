#!/usr/bin/env bash
# fuzz_regress: every seed (tests/fuzz/corpus/<name>/) and every input a fuzzer once crashed on
# (tests/fuzz/crashes/<name>/) goes through its libFuzzer harness once (`make fuzz-regress`,
# built with clang and ASan/UBSan into ${BUILD:-build}/fuzz), so a fixed crash stays fixed.
source "$(dirname "$0")/../lib.sh"
cd "$ROOT" || exit 1
command -v clang >/dev/null || { fail fuzz_regress "clang not found (run make deps)"; finish; }
dir=${BUILD:-build}/fuzz
out=$(make -s -k fuzz-regress FUZZ_DIR="$dir" 2>&1)
rc=$?
for name in $(ls tests/fuzz/fuzz_*.c | sed 's|.*/fuzz_\(.*\)\.c|\1|'); do
  line=$(grep "^fuzz-regress: $name: " <<<"$out")
  case $line in
    *"no crash"*) pass "fuzz_regress_$name" ;;
    *) fail "fuzz_regress_$name" "${line:-not run}" ;;
  esac
done
[ "$rc" -eq 0 ] || { grep -v '^fuzz-regress: ' <<<"$out" | tail -n 30; fail fuzz_regress "make fuzz-regress exited with $rc"; }
# Each harness must have replayed its crash inputs: a folder emptied by mistake would pass.
n=$(find tests/fuzz/crashes -type f | wc -l)
[ "$n" -gt 0 ] && pass fuzz_regress_has_crash_inputs || fail fuzz_regress_has_crash_inputs "tests/fuzz/crashes/ is empty"
finish
