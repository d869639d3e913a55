# tests/lib.sh: helpers for shell tests (sourced). Each case prints PASS/FAIL/SKIP like test.h.
# Usage: source tests/lib.sh; pass name | fail name why | skip name why; finish (exit status).
set -u
# The byte comparisons hold on the CPU (docs/determinism.md); on a machine with a GPU, DEVICE=auto
# would train on it with timed cuDNN choices. cuda_train.sh sets DEVICE per command.
export DEVICE=${DEVICE:-cpu}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHARED_DATA=${SHARED_DATA:-$ROOT/../shared/data}
BUILD=${BUILD:-build}              # the build tree: build, or build-san (make check SAN=1)
BIN=$ROOT/$BUILD/bin
TOOLS=$ROOT/$BUILD/tests/tools
MINI=$SHARED_DATA/cifar-mini.tgz  # the real 3,000 + 1,000 image archive the data-driven tests run on
TMP=$(mktemp -d "${TMPDIR:-/tmp}/cifar-test.XXXXXX")
_mounts=""   # tmpfs mounted by full_disk, unmounted at exit before $TMP goes
trap 'for _m in $_mounts; do umount "$_m" 2>/dev/null; done; rm -rf "$TMP"' EXIT
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

# full_disk DIR KIB FREE_KIB: a KIB KiB tmpfs mounted on DIR (made if needed) and filled with
# DIR/filler until FREE_KIB KiB are left: a full disk. Root only: returns 1 (and mounts nothing)
# when it cannot mount. full_disk_end DIR unmounts it (the exit trap does it too).
full_disk() {
  [ "$(id -u)" = 0 ] && mkdir -p "$1" && mount -t tmpfs -o "size=${2}k" tmpfs "$1" 2>/dev/null || return 1
  _mounts="$_mounts $1"
  full_disk_fill "$1" "$3"
}
# full_disk_fill DIR FREE_KIB: (re)fills the tmpfs on DIR until FREE_KIB KiB are left, whatever
# else is on it.
full_disk_fill() {
  rm -f "$1/filler"
  local avail; avail=$(df -k --output=avail "$1" | tail -n 1)
  [ "$avail" -le "$2" ] || dd if=/dev/zero of="$1/filler" bs=4k count=$(((avail - $2) / 4)) >/dev/null 2>&1
  return 0
}
full_disk_end() { umount "$1" && _mounts=${_mounts/ $1/}; }
# full_disk_left DIR: what is in DIR besides the filler (empty: nothing left behind)
full_disk_left() { (cd "$1" && find . -mindepth 1 -not -name filler | sed 's|^\./||' | sort | tr '\n' ' '); }

# no_leftovers NAME DIR: DIR holds no temporary files (*.tmp.*) after a run.
no_leftovers() {
  local left
  left=$(find "$2" -name '*.tmp.*' 2>/dev/null | head -n 3)
  if [ -n "$left" ]; then fail "$1" "temporary files left: $left"; else pass "$1"; fi
}

# check_page NAME DIR: every src/href of DIR/index.html is a local file that exists (PNGs with
# a valid signature and IHDR chunk) or an in-page anchor.
check_page() {
  local name=$1 dir=$2 bad="" n=0 ref
  [ -s "$dir/index.html" ] || { fail "$name" "no $dir/index.html"; return; }
  while read -r ref; do
    case $ref in
      \#*) continue ;;
      *://*|//*) bad="$bad external:$ref"; continue ;;
    esac
    n=$((n + 1))
    if [ ! -f "$dir/$ref" ]; then bad="$bad missing:$ref"; continue; fi
    case $ref in
      *.png)
        [ "$(od -An -tx1 -N16 "$dir/$ref" | tr -d ' \n')" = "89504e470d0a1a0a0000000d49484452" ] ||
          bad="$bad not-png:$ref" ;;
    esac
  done < <(grep -o -E '(src|href)="[^"]*"' "$dir/index.html" | sed -E 's/^(src|href)="//; s/"$//')
  if [ -n "$bad" ]; then fail "$name" "$bad"
  elif [ "$n" -eq 0 ]; then fail "$name" "the page references no file"
  else pass "$name"; fi
}

# mini_artifacts NAME DIR: the sort and stats stages on $MINI into DIR (DIR/data, DIR/stats.json),
# the set-up of every test that trains on real data. No archive: SKIP NAME; a failing stage: FAIL
# NAME with its last error lines. Either ends the script.
mini_artifacts() {
  local name=$1 dir=$2
  [ -f "$MINI" ] || { skip "$name" "no $MINI"; finish; }
  "$BIN/sort" --archive "$MINI" --out "$dir" >/dev/null 2>"$TMP/mini_artifacts.err" &&
    "$BIN/stats" --data "$dir/data/train.safetensors" --out "$dir/stats.json" >/dev/null 2>>"$TMP/mini_artifacts.err" ||
    { fail "$name" "sort/stats of $MINI: $(tail -n 3 "$TMP/mini_artifacts.err")"; finish; }
}
