# tests/lib.sh: helpers for shell tests (sourced). Each case prints PASS/FAIL/SKIP like test.h.
# Usage: source tests/lib.sh; pass name | fail name why | skip name why; finish (exit status).
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHARED_DATA=${SHARED_DATA:-$ROOT/../shared/data}
BIN=$ROOT/build/bin
TOOLS=$ROOT/build/tests/tools
TMP=$(mktemp -d "${TMPDIR:-/tmp}/cifar-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
_failures=0

pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1: ${2:-}"; _failures=$((_failures + 1)); }
skip() { echo "SKIP: $1: ${2:-}"; }
finish() { [ "$_failures" -eq 0 ]; exit; }

# expect_error NAME PATTERN CMD...: CMD must exit nonzero and print exactly one stderr line
# matching PATTERN (extended regex).
expect_error() {
  local name=$1 pattern=$2; shift 2
  local err rc
  err=$("$@" 2>&1 >/dev/null); rc=$?
  if [ "$rc" -eq 0 ]; then fail "$name" "exited 0"; return 1; fi
  if [ "$(printf '%s\n' "$err" | grep -c .)" -ne 1 ]; then fail "$name" "expected one error line, got: $err"; return 1; fi
  if ! printf '%s' "$err" | grep -Eq -- "$pattern"; then fail "$name" "error '$err' does not match '$pattern'"; return 1; fi
  pass "$name"
}

# no_leftovers NAME DIR: DIR holds no temporary files (*.tmp.*) after a run.
no_leftovers() {
  local left
  left=$(find "$2" -name '*.tmp.*' 2>/dev/null | head -n 3)
  if [ -n "$left" ]; then fail "$1" "temporary files left: $left"; else pass "$1"; fi
}
