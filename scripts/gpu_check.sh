#!/usr/bin/env bash
# gpu_check.sh [LOGDIR]: the first run of the CUDA backend on a lent GPU, in under 10 minutes.
# Steps, in this order, one summary line each (`STEP n name: PASS|FAIL|SKIP: what [seconds]`),
# with each step's full output in LOGDIR/<n>-<name>.log (default build/gpu-check/):
#   1 probe        nvidia-smi (driver version, the CUDA version it supports), nvcc, the libraries
#                  ldconfig knows; after step 2, the module's ldd and the versions it reports
#                  (driver, runtime, cuDNN, cuBLAS, device) as one "gpu_check: ..." line
#   2 build        a fresh build into build/gpu/ (make -j BUILD=build/gpu; the rest of build/ is not touched)
#   3 backend_ops  tests/run test_backend_ops: a "GPU:" line and no CUDA SKIP
#   4 cuda_train   tests/run test_cuda_train
#   5 inference    tests/run test_net_inference
#   6 cuda_train_sh  tests/run cuda_train (the whole-run CPU parity and determinism checks)
#   7 airbench94   params/quick/airbench94.json on cuda, deterministic, graphs on and off (the
#                  checkpoints must be the same bytes, no "could not record" warning), and its
#                  first losses against a CPU run
#   8 memcheck     compute-sanitizer memcheck on build/gpu/tests/ops/test_backend_ops, if the tool
#                  is there and time is left
# The last line counts the steps. Its output is what the GPU issue starts from. Exit status:
# nonzero when any step failed. GPU_CHECK_REUSE=1 (a dry run on a machine without a GPU) uses
# build/ as it is instead of a fresh build/gpu/.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
LOG=${1:-build/gpu-check}
mkdir -p "$LOG"
LOG=$(cd "$LOG" && pwd)
BUDGET=${GPU_CHECK_BUDGET:-570}            # seconds for everything (the lease is 10 minutes)
export BUILD=build/gpu
[ -n "${GPU_CHECK_REUSE:-}" ] && BUILD=build
BIN=$ROOT/$BUILD/bin
MOD=$ROOT/$BUILD/lib/cifar-cuda.so
JOBS=$(nproc 2>/dev/null || echo 4)
START=$SECONDS
failed=0 passed=0 skipped=0

left() { echo $((BUDGET - (SECONDS - START))); }
# step N NAME STATUS WHAT T0
step() {
  printf 'STEP %s %s: %s: %s [%ss]\n' "$1" "$2" "$3" "$4" "$((SECONDS - $5))"
  case $3 in PASS) passed=$((passed + 1)) ;; FAIL) failed=$((failed + 1)) ;; *) skipped=$((skipped + 1)) ;; esac
}
# counts of a tests/run log: "N passed, N failed, N skipped"
totals() { grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped' "$1" | tail -n 1; }
# run_tests N NAME PATTERN TIMEOUT: tests/run PATTERN; PASS when it exits 0 with no CUDA SKIP
run_tests() {
  local n=$1 name=$2 pat=$3 lim=$4 t0=$SECONDS log="$LOG/$1-$2.log" rc skips
  [ "$(left)" -gt 20 ] || { step "$n" "$name" SKIP "out of time" "$t0"; return; }
  [ "$lim" -le "$(left)" ] || lim=$(left)
  timeout "$lim" tests/run "$pat" >"$log" 2>&1; rc=$?
  skips=$(grep -cE '^SKIP: .*(cuda|GPU|gpu)' "$log")
  local what="$(totals "$log")${skips:+, $skips CUDA skips}"
  [ "$rc" -eq 124 ] && what="timed out after ${lim}s; $what"
  if [ "$rc" -eq 0 ] && [ "$skips" -eq 0 ]; then step "$n" "$name" PASS "$what" "$t0"
  else step "$n" "$name" FAIL "$what; first: $(grep -m 2 -E '^(FAIL|SKIP)' "$log" | tr '\n' ' ' | cut -c1-300)" "$t0"; fi
}

echo "gpu_check: $(git rev-parse --short HEAD 2>/dev/null || echo '?') on $(hostname), $JOBS cores, logs in $LOG"

# 1 probe
t0=$SECONDS
{
  echo "== nvidia-smi -L"; nvidia-smi -L 2>&1
  echo "== nvidia-smi"; nvidia-smi 2>&1
  echo "== nvcc"; (command -v nvcc || ls /usr/local/cuda/bin/nvcc) 2>&1; nvcc --version 2>&1 || /usr/local/cuda/bin/nvcc --version 2>&1
  echo "== /dev/nvidia*"; ls -l /dev/nvidia* 2>&1
  echo "== ldconfig"; ldconfig -p 2>/dev/null | grep -E 'libcuda\.so|libcudart|libcublas|libcudnn'
  for m in "$ROOT"/build/lib/cifar-cuda.so; do [ -f "$m" ] && { echo "== ldd $m (the tree as copied)"; ldd "$m"; }; done
} >"$LOG/1-probe.log" 2>&1
drv=$(nvidia-smi --query-gpu=driver_version,name,compute_cap --format=csv,noheader 2>/dev/null | head -n 1)
cuda_drv=$(nvidia-smi 2>/dev/null | grep -o 'CUDA Version: [0-9.]*' | head -n 1)
[ -n "$drv" ] && step 1 probe PASS "nvidia-smi: $drv; driver supports ${cuda_drv:-CUDA ?}; nvcc $(nvcc --version 2>/dev/null | grep -o 'release [0-9.]*')" "$t0" \
  || step 1 probe FAIL "nvidia-smi gives no GPU: $(nvidia-smi -L 2>&1 | head -n 1)" "$t0"

# 2 build
t0=$SECONDS
[ -n "${GPU_CHECK_REUSE:-}" ] || rm -rf "$ROOT/$BUILD"
if timeout "$(($(left) - 240))" make -j"$JOBS" BUILD=$BUILD all >"$LOG/2-build.log" 2>&1; then
  if [ -f "$MOD" ]; then
    l=$(ldd "$MOD" | grep -Eo '(libcudart|libcublas|libcudnn)[^ ]* => [^ ]*' | tr '\n' ';')
    miss=$(ldd "$MOD" | grep 'not found' | xargs)
    prog=$(ldd "$BIN/train" | grep -Eo 'lib(cudart|cublas|cudnn)[^ ]*' | xargs)
    { echo "== ldd $MOD"; ldd "$MOD"; echo "== ldd $BIN/train"; ldd "$BIN/train"; } >>"$LOG/1-probe.log"
    CUO=$(command -v cuobjdump || ls /usr/local/cuda/bin/cuobjdump 2>/dev/null)
    code=${CUO:+$( { "$CUO" --list-elf "$MOD"; "$CUO" --list-ptx "$MOD"; } 2>/dev/null | grep -oE '\.sm_[0-9]+\.(cubin|ptx)' | sort | uniq -c | xargs)}
    if [ -z "$miss" ] && [ -z "$prog" ]; then step 2 build PASS "module built (code: ${code:-no cuobjdump}); ldd: $l train links no CUDA" "$t0"
    else step 2 build FAIL "ldd: ${miss:+missing: $miss; }${prog:+train links: $prog}" "$t0"; fi
  else
    step 2 build FAIL "no $BUILD/lib/cifar-cuda.so: $(grep -m 1 '^cuda:' "$LOG/2-build.log")" "$t0"
  fi
else
  step 2 build FAIL "make failed: $(grep -m 1 -E 'error|Error' "$LOG/2-build.log" | cut -c1-300)" "$t0"
fi

# the versions the module reports (the one line a started backend prints), into step 1's log too
if [ -x "$ROOT/$BUILD/tests/unit/test_cuda_train" ]; then
  "$ROOT/$BUILD/tests/unit/test_cuda_train" --select cuda >>"$LOG/1-probe.log" 2>"$LOG/versions.txt"
  echo "gpu_check: $(head -n 1 "$LOG/versions.txt")"
fi

run_tests 3 backend_ops test_backend_ops 150
grep -m 1 'GPU:' "$LOG/3-backend_ops.log" >/dev/null || echo "gpu_check: step 3 printed no 'GPU:' line"
run_tests 4 cuda_train test_cuda_train 90
run_tests 5 inference test_net_inference 60
run_tests 6 cuda_train_sh cuda_train 120

# 7 airbench94 on cuda: deterministic, graphs on and off, and the CPU's first losses
t0=$SECONDS
A=$LOG/airbench
if [ "$(left)" -lt 60 ]; then step 7 airbench94 SKIP "out of time" "$t0"
else
  rm -rf "$A"; mkdir -p "$A"
  sed 's/^{/{"deterministic": true, /' params/quick/airbench94.json >"$A/det.json"
  ab() { # DEVICE NAME [env...]
    local dev=$1 name=$2; shift 2
    env "$@" CUDA_TF32=0 DEVICE="$dev" timeout 120 "$BIN/train" --model models/airbench94.json --params "$A/det.json" \
      --data "$A/art/data" --stats "$A/art/stats.json" --threads "$JOBS" --ckpt "$A/$name.ckpt" \
      --metrics "$A/$name.metrics.json" --summary "$A/$name.summary.json" >"$A/$name.out" 2>"$A/$name.err"
  }
  if ! { "$BIN/sort" --archive "${SHARED_DATA:-$ROOT/../shared/data}/cifar-mini.tgz" --out "$A/art" >/dev/null &&
         "$BIN/stats" --data "$A/art/data/train.safetensors" --out "$A/art/stats.json" >/dev/null; } 2>"$A/data.err"; then
    step 7 airbench94 FAIL "sort/stats of cifar-mini: $(tail -n 1 "$A/data.err")" "$t0"
  elif ! ab cuda graph || ! ab cuda nograph NET_GRAPH=0 || ! ab cpu cpu; then
    step 7 airbench94 FAIL "a run failed: $(cat "$A"/*.err | grep -v ': cuda: ' | head -n 2 | tr '\n' ' ' | cut -c1-300)" "$t0"
  else
    same=$(cmp -s "$A/graph.ckpt" "$A/nograph.ckpt" && echo same || echo DIFFERENT)
    norec=$(grep -c 'could not record' "$A/graph.err")
    cmpl=$("${PYTHON:-python3}" - "$A/cpu.metrics.json" "$A/graph.metrics.json" "$A/nograph.metrics.json" <<'PY' 2>&1
import json, sys
c, g, n = (json.load(open(p)) for p in sys.argv[1:4])
lc, lg = c["iterations"]["loss"], g["iterations"]["loss"]
k = min(10, len(lc), len(lg))
worst = max(abs(a - b) / max(abs(a), 1e-12) for a, b in zip(lc[:k], lg[:k]))
print(f"devices {c['device']}/{g['device']}/{n['device']}, graph_steps {g.get('graph_steps')}/{n.get('graph_steps')}, "
      f"first {k} losses cpu {lc[0]:.6g} cuda {lg[0]:.6g}, worst rel diff {worst:.3g} (tol 1e-3) {'ok' if worst <= 1e-3 else 'TOO LARGE'}")
PY
)
    what="checkpoints graph/nograph $same, 'could not record' x$norec; $cmpl"
    if [ "$same" = same ] && [ "$norec" -eq 0 ] && printf '%s' "$cmpl" | grep -q 'devices cpu/cuda/cuda.* ok$'
    then step 7 airbench94 PASS "$what" "$t0"; else step 7 airbench94 FAIL "$what" "$t0"; fi
  fi
fi

# 8 compute-sanitizer memcheck on the op harness
t0=$SECONDS
CS=$(command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer 2>/dev/null)
if [ -z "$CS" ]; then step 8 memcheck SKIP "no compute-sanitizer" "$t0"
elif [ "$(left)" -lt 45 ]; then step 8 memcheck SKIP "out of time ($(left)s left)" "$t0"
else
  timeout "$(($(left) - 10))" "$CS" --tool memcheck --error-exitcode 99 "$ROOT/$BUILD/tests/ops/test_backend_ops" >"$LOG/8-memcheck.log" 2>&1
  rc=$?
  errs=$(grep -m 1 -o 'ERROR SUMMARY: [0-9]* error' "$LOG/8-memcheck.log")
  case $rc in
    0) step 8 memcheck PASS "${errs:-no summary}" "$t0" ;;
    124) step 8 memcheck SKIP "timed out (partial: ${errs:-no summary yet}; $(grep -c '^=========.*Invalid' "$LOG/8-memcheck.log") invalid accesses so far)" "$t0" ;;
    *) step 8 memcheck FAIL "rc $rc, ${errs:-no summary}: $(grep -m 1 -E '^=========.*(Invalid|Error)' "$LOG/8-memcheck.log" | cut -c1-200)" "$t0" ;;
  esac
fi

echo "gpu_check: $passed passed, $failed failed, $skipped skipped in $((SECONDS - START))s"
[ "$failed" -eq 0 ]
