#!/usr/bin/env bash
# The CUDA module (build/lib/cifar-cuda.so, mk/cuda.mk) on a machine without a GPU:
# - train, lrfind and evaluate link no CUDA, cuBLAS or cuDNN library (ldd); the module does;
# - device selection through the module, each case made with a stub NVIDIA driver (a
#   libcuda.so.1 built here, on LD_LIBRARY_PATH, that cudart loads instead of a driver):
#   no driver and no device are no GPU (auto: the CPU without a word; cuda: one line); a driver
#   older than the runtime and any other CUDA error are an error under cuda naming the CUDA error
#   and both versions, and one "running on the CPU" line under auto; a missing module, or a
#   missing library of the module, is one line naming it;
# - a visible GPU (a stub nvidia-smi on PATH listing one) whose CUDA does not start makes every
#   GPU case of test_cuda_train, test_net_inference, test_backend_ops and cuda_train.sh FAIL,
#   never SKIP.
source "$(dirname "$0")/../lib.sh"
# it tests the device choice itself: the DEVICE=cpu that tests/lib.sh pins for byte comparisons is not wanted here
unset DEVICE
MOD=$ROOT/$BUILD/lib/cifar-cuda.so
PROBE=$ROOT/$BUILD/tests/unit/test_cuda_train
INFER=$ROOT/$BUILD/tests/unit/test_net_inference
for p in "$BIN/train" "$BIN/lrfind" "$BIN/evaluate" "$PROBE"; do
  [ -x "$p" ] || { skip cuda_module "${p#$ROOT/} not built"; finish; }
done

# ldd: no program needs a CUDA library
linked=""
for p in train lrfind evaluate; do
  l=$(ldd "$BIN/$p" | grep -Eo 'lib(cudart|cublas|cublasLt|cudnn|cuda)[^ ]*' | xargs)
  [ -z "$l" ] || linked="$linked $p:[$l]"
done
[ -z "$linked" ] && pass programs_link_no_cuda || fail programs_link_no_cuda "$linked"

if [ ! -f "$MOD" ]; then
  skip cuda_module_links_cuda "no $BUILD/lib/cifar-cuda.so (make built no CUDA module here)"
  expect_error cuda_without_module 'cuda requested but this build has no CUDA backend' "$PROBE" --select cuda
  finish
fi
l=$(ldd "$MOD" | grep -Eo 'lib(cudart|cublas|cudnn)\.so[^ ]*' | sort -u | xargs)
case "$l" in *libcublas*libcudart*libcudnn*) pass "cuda_module_links_cuda ($l)" ;;
  *) fail cuda_module_links_cuda "ldd $MOD: $l" ;; esac
exports=$(nm -D --defined-only "$MOD" | awk '{print $3}' | xargs)
[ "$exports" = cifar_cuda_module ] && pass cuda_module_exports_one_symbol || fail cuda_module_exports_one_symbol "$exports"

if "$PROBE" --gpu-visible; then
  skip cuda_probe_stub_driver "a GPU is visible here: the stub-driver cases need a machine without one"
  finish
fi

# The stub driver: cuDriverGetVersion and cuInit answer from the environment; every other entry
# point is missing (as on a driver too old for them).
cat >"$TMP/stub.c" <<'C'
#include <stdlib.h>
#include <string.h>
static int env(const char *n, int d) { const char *s = getenv(n); return s && *s ? atoi(s) : d; }
int cuDriverGetVersion(int *v) { *v = env("STUB_DRIVER_VERSION", 13000); return 0; }
int cuInit(unsigned f) { (void)f; return env("STUB_INIT_RESULT", 0); }
int cuGetProcAddress_v2(const char *s, void **p, int v, unsigned long long f, int *st)
{
    (void)v; (void)f;
    void *fn = !strcmp(s, "cuDriverGetVersion") ? (void *)cuDriverGetVersion : !strcmp(s, "cuInit") ? (void *)cuInit
             : !strcmp(s, "cuGetProcAddress") ? (void *)cuGetProcAddress_v2 : NULL;
    *p = fn;
    if (st) *st = fn ? 0 : 1;
    return fn ? 0 : 500;   /* CUDA_ERROR_NOT_FOUND */
}
int cuGetProcAddress(const char *s, void **p, int v, unsigned long long f) { return cuGetProcAddress_v2(s, p, v, f, 0); }
C
mkdir -p "$TMP/drv"
${CC:-cc} -shared -fPIC -o "$TMP/drv/libcuda.so.1" "$TMP/stub.c" || { fail cuda_probe_stub_driver "cannot build the stub"; finish; }

# auto_quiet NAME ENV...: auto runs on the CPU and prints nothing on stderr
auto_quiet() {
  local name=$1; shift
  local out err
  out=$(env "$@" "$PROBE" --select auto 2>"$TMP/err")
  err=$(cat "$TMP/err")
  if [ "$out" = "backend: cpu" ] && [ -z "$err" ]; then pass "$name"; else fail "$name" "stdout '$out', stderr '$err'"; fi
}
# auto_one_line NAME PATTERN ENV...: auto runs on the CPU after exactly one stderr line matching PATTERN
auto_one_line() {
  local name=$1 pattern=$2; shift 2
  local out err
  out=$(env "$@" "$PROBE" --select auto 2>"$TMP/err")
  err=$(cat "$TMP/err")
  if [ "$out" = "backend: cpu" ] && [ "$(grep -c . "$TMP/err")" -eq 1 ] && grep -Eq -- "$pattern" "$TMP/err"; then pass "$name"
  else fail "$name" "stdout '$out', stderr '$err' (want one line matching '$pattern')"; fi
}

if ! ldconfig -p 2>/dev/null | grep -q 'libcuda\.so\.1 '; then
  expect_error no_driver_cuda_is_one_line 'cuda requested but no CUDA device is visible \(no NVIDIA driver is installed.*runtime [0-9]+\.[0-9]' \
    env "$PROBE" --select cuda
  auto_quiet no_driver_auto_is_cpu
  # ... without loading the module at all (a CPU node without the GPU libraries stays quiet)
  if LD_DEBUG=files "$PROBE" --select auto 2>&1 | grep -q 'cifar-cuda\.so'; then
    fail no_driver_auto_loads_no_module "DEVICE=auto loaded the module on a machine without a driver"
  else pass no_driver_auto_loads_no_module; fi
  if LD_DEBUG=files "$PROBE" --select cuda 2>&1 | grep -q 'file=.*cifar-cuda\.so'; then pass no_driver_cuda_loads_module
  else fail no_driver_cuda_loads_module "LD_DEBUG=files shows no cifar-cuda.so under DEVICE=cuda (so the previous case proves nothing)"; fi
else
  skip no_driver_cuda_is_one_line "an NVIDIA driver is installed here"
fi
S="LD_LIBRARY_PATH=$TMP/drv${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# The H100 case of issue 23: a 570-series driver (CUDA 12.8) under the CUDA 13 runtime.
expect_error old_driver_cuda_names_error_and_versions \
  'cuda requested but CUDA does not work: cudaGetDeviceCount: cudaErrorInsufficientDriver .*driver 12\.8, runtime [0-9]+\.[0-9].*R580' \
  env "$S" STUB_DRIVER_VERSION=12080 "$PROBE" --select cuda
auto_one_line old_driver_auto_says_cpu 'device: warning: auto: running on the CPU: CUDA does not work: .*cudaErrorInsufficientDriver.*driver 12\.8' \
  "$S" STUB_DRIVER_VERSION=12080
# The real train stage under the same driver: the one line, and no training on the CPU behind it
# (the device is chosen right after the params and the normalisation statistics are read).
echo '{"mean": [0.49, 0.48, 0.44], "std": [0.24, 0.24, 0.26], "count": 3000}' >"$TMP/nostats.json"
sed 's/^{/{"device": "cuda", /' "$ROOT/params/quick/convnet.json" >"$TMP/cuda.json"
expect_error old_driver_train_cuda_fails 'train: device: cuda requested but CUDA does not work: .*cudaErrorInsufficientDriver' \
  env -u DEVICE "$S" STUB_DRIVER_VERSION=12080 "$BIN/train" --model "$ROOT/models/convnet.json" \
  --params "$TMP/cuda.json" --data "$TMP/nodata" --stats "$TMP/nostats.json" --ckpt "$TMP/x.ckpt" \
  --metrics "$TMP/x.metrics.json" --summary "$TMP/x.summary.json"
# A driver that sees no device: no GPU.
expect_error no_device_cuda_is_one_line 'cuda requested but no CUDA device is visible \(cudaGetDeviceCount: cudaErrorNoDevice' \
  env "$S" STUB_INIT_RESULT=100 "$PROBE" --select cuda
auto_quiet no_device_auto_is_cpu "$S" STUB_INIT_RESULT=100
# Any other failure of the driver.
expect_error driver_fault_cuda_names_error 'cuda requested but CUDA does not work: cudaGetDeviceCount: cudaErrorUnknown .*driver 13\.0, runtime' \
  env "$S" STUB_INIT_RESULT=999 "$PROBE" --select cuda
auto_one_line driver_fault_auto_says_cpu 'running on the CPU: CUDA does not work: cudaGetDeviceCount: cudaErrorUnknown' "$S" STUB_INIT_RESULT=999

# A missing module, and a module whose library is missing: one line naming the file.
expect_error missing_module_is_named "cuda requested but cannot load the CUDA module $TMP/none.so: .*No such file" \
  env CIFAR_CUDA_MODULE="$TMP/none.so" "$PROBE" --select cuda
auto_one_line missing_module_auto_says_cpu "running on the CPU: cannot load the CUDA module $TMP/none.so" CIFAR_CUDA_MODULE="$TMP/none.so"
echo 'int cifar_gone(void) { return 0; }' >"$TMP/gone.c"
echo 'int cifar_gone(void); int cifar_cuda_module(void) { return cifar_gone(); }' >"$TMP/fake.c"
${CC:-cc} -shared -fPIC -o "$TMP/libcifar_gone.so" "$TMP/gone.c" &&
  ${CC:-cc} -shared -fPIC -o "$TMP/fake.so" "$TMP/fake.c" -L"$TMP" -lcifar_gone && rm -f "$TMP/libcifar_gone.so"
expect_error missing_library_is_named 'cuda requested but cannot load the CUDA module .*fake\.so: libcifar_gone\.so: cannot open shared object file' \
  env CIFAR_CUDA_MODULE="$TMP/fake.so" "$PROBE" --select cuda

# A module from another build (another ABI): refused with one line, not called.
echo 'static const int t[8] = { 999 }; const void *cifar_cuda_module(int abi, void *msg) { (void)abi; (void)msg; return t; }' >"$TMP/other.c"
${CC:-cc} -shared -fPIC -o "$TMP/other.so" "$TMP/other.c"
expect_error other_build_module_is_refused 'cuda requested but the CUDA module .*other\.so was built from other sources than this program' \
  env CIFAR_CUDA_MODULE="$TMP/other.so" "$PROBE" --select cuda

# A visible GPU (stub nvidia-smi) without a working CUDA: the GPU cases FAIL.
mkdir -p "$TMP/smi"
printf '#!/bin/sh\n[ "$1" = -L ] && echo "GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-stub)"\n' >"$TMP/smi/nvidia-smi"
chmod +x "$TMP/smi/nvidia-smi"
if PATH="$TMP/smi:$PATH" "$PROBE" --gpu-visible; then pass gpu_visible_from_nvidia_smi
else fail gpu_visible_from_nvidia_smi "test_cuda_train --gpu-visible says no GPU with nvidia-smi -L listing one"; fi
PATH="$TMP/smi:$PATH" env "$S" STUB_DRIVER_VERSION=12080 "$PROBE" >"$TMP/train.out" 2>&1; rc=$?
nf=$(grep -c '^FAIL: test_.*a GPU is visible (nvidia-smi -L: GPU 0: NVIDIA H100.*cudaErrorInsufficientDriver' "$TMP/train.out")
ns=$(grep -c '^SKIP:' "$TMP/train.out")
if [ "$rc" -ne 0 ] && [ "$nf" -eq 4 ] && [ "$ns" -eq 0 ]; then pass "broken_gpu_fails_cuda_train_cases ($nf FAIL, 0 SKIP)"
else fail broken_gpu_fails_cuda_train_cases "rc $rc, $nf FAIL lines, $ns SKIP lines: $(grep -E '^(FAIL|SKIP)' "$TMP/train.out" | head -n 3)"; fi
if [ -x "$INFER" ]; then
  PATH="$TMP/smi:$PATH" "$INFER" >"$TMP/infer.out" 2>&1; rc=$?
  if [ "$rc" -ne 0 ] && grep -q '^FAIL: cuda_eval_equals_training_net: a GPU is visible' "$TMP/infer.out" && ! grep -q '^SKIP: cuda' "$TMP/infer.out"
  then pass broken_gpu_fails_net_inference_case
  else fail broken_gpu_fails_net_inference_case "rc $rc: $(grep -E '^(FAIL|SKIP)' "$TMP/infer.out" | head -n 3)"; fi
fi
OPS=$ROOT/$BUILD/tests/ops/test_backend_ops
if [ -x "$OPS" ]; then   # the generic CPU path only: the CUDA half is what is checked here
  PATH="$TMP/smi:$PATH" CPU_MAX_ISA=generic "$OPS" >"$TMP/ops.out" 2>&1; rc=$?
  nf=$(grep -c '^FAIL: .* on cuda: a GPU is visible (nvidia-smi -L' "$TMP/ops.out")
  ncase=$(grep -c '^  .* (cpu generic)$' "$TMP/ops.out")
  if [ "$rc" -ne 0 ] && [ "$nf" -gt 0 ] && [ "$nf" -eq "$ncase" ] && ! grep -q '^SKIP' "$TMP/ops.out"
  then pass "broken_gpu_fails_backend_ops_cases ($nf of $ncase cases FAIL on cuda)"
  else fail broken_gpu_fails_backend_ops_cases "rc $rc, $nf FAIL lines for $ncase cases: $(grep -m 2 -E '^(FAIL|SKIP)' "$TMP/ops.out")"; fi
fi
# tests/cli/cuda_train.sh counts the same as a failure (it used to skip when CUDA did not start).
PATH="$TMP/smi:$PATH" BUILD=$BUILD bash "$ROOT/tests/cli/cuda_train.sh" >"$TMP/ct.out" 2>&1; rc=$?
if [ "$rc" -ne 0 ] && grep -q '^FAIL: cuda_probe: a GPU is visible but DEVICE=cuda train failed' "$TMP/ct.out" && ! grep -q '^SKIP' "$TMP/ct.out"
then pass broken_gpu_fails_cuda_train_sh
else fail broken_gpu_fails_cuda_train_sh "rc $rc: $(grep -E '^(FAIL|SKIP)' "$TMP/ct.out" | head -n 3)"; fi
finish
