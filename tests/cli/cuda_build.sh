#!/usr/bin/env bash
# The CUDA part of the build (mk/cuda.mk), planned with `make -n` into a scratch tree (nothing is
# compiled): the module is built only when nvcc, cuDNN (cudnn.h, libcudnn.so) and cuBLAS are all
# found, otherwise one line names what is missing and the CPU build goes on (NO_CUDA=1: no line);
# no program's link line names a CUDA library; the module gets SASS for sm_80 and sm_90 and
# compute_90 PTX.
source "$(dirname "$0")/../lib.sh"
cd "$ROOT" || exit 1
plan() { make -n --no-print-directory NO_DEPS_CHECK=1 BUILD="$TMP/b" "$@" all 2>&1; }
cuda_lines() { printf '%s\n' "$1" | grep -c '^cuda: '; }
links_cuda() { printf '%s\n' "$1" | grep -E '^(cc|gcc|clang)\b.* -o [^ ]*/(bin|tests)/' | grep -cE -- '-l(cudart|cublas|cudnn)\b'; }

# Nothing CUDA on the machine (no nvcc, nothing under CUDA_HOME).
out=$(plan NVCC= CUDA_HOME="$TMP/none")
if [ "$(cuda_lines "$out")" -eq 1 ] && printf '%s' "$out" | grep -q '^cuda: not building the CUDA backend: nvcc .*not found.*building for the CPU only' &&
   ! printf '%s' "$out" | grep -q 'cifar-cuda.so' && printf '%s' "$out" | grep -q 'DCUDA_MODULE_BUILT=0 .*cuda_module.c' &&
   printf '%s' "$out" | grep -q -- '-o [^ ]*/bin/train'
then pass no_cuda_builds_cpu_with_one_line
else fail no_cuda_builds_cpu_with_one_line "$(printf '%s\n' "$out" | grep -E '^cuda:|cifar-cuda|make:' | head -n 3)"; fi

# nvcc and cuBLAS there, cuDNN not (the case the old build missed).
NV=$(command -v nvcc || ls /usr/local/cuda/bin/nvcc 2>/dev/null)
if [ -z "$NV" ]; then
  skip cudnn_missing_is_named "no nvcc here"
elif [ -e /usr/include/cudnn.h ] || [ -e /usr/include/x86_64-linux-gnu/cudnn.h ] || [ -e /usr/lib/x86_64-linux-gnu/libcudnn.so ]; then
  skip cudnn_missing_is_named "cuDNN is installed under /usr here"
else
  F=$TMP/cuda
  mkdir -p "$F/bin" "$F/include" "$F/lib64"
  ln -s "$NV" "$F/bin/nvcc"
  : >"$F/include/cublas_v2.h"; : >"$F/lib64/libcublas.so"; : >"$F/lib64/libcudart.so"
  out=$(plan NVCC="$F/bin/nvcc" CUDA_HOME="$F")
  if [ "$(cuda_lines "$out")" -eq 1 ] && printf '%s' "$out" | grep -q '^cuda: not building the CUDA backend: cudnn.h libcudnn.so not found' &&
     ! printf '%s' "$out" | grep -q 'cifar-cuda.so'
  then pass cudnn_missing_is_named
  else fail cudnn_missing_is_named "$(printf '%s\n' "$out" | grep -E '^cuda:|cifar-cuda|make:' | head -n 3)"; fi
fi

# NO_CUDA=1: no search, no line.
out=$(plan NO_CUDA=1)
if [ "$(cuda_lines "$out")" -eq 0 ] && ! printf '%s' "$out" | grep -q 'cifar-cuda.so' && printf '%s' "$out" | grep -q -- '-DCUDA_MODULE_BUILT=-1'
then pass no_cuda_flag_is_quiet; else fail no_cuda_flag_is_quiet "$(printf '%s\n' "$out" | grep -E '^cuda:|make:' | head -n 3)"; fi

# Everything found here: the module, its code targets, and programs that link none of it.
out=$(plan)
if printf '%s' "$out" | grep -q '^cuda: '; then
  skip cuda_module_planned "make does not find CUDA here: $(printf '%s\n' "$out" | grep -m 1 '^cuda: ')"
else
  mod=$(printf '%s\n' "$out" | grep -E 'nvcc .*-shared .* -o [^ ]*/lib/cifar-cuda\.so')
  arch="-gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90 -gencode arch=compute_90,code=compute_90"
  if [ -n "$mod" ] && printf '%s' "$mod" | grep -qF -- "$arch" && printf '%s' "$mod" | grep -qE -- '-lcudnn -lcublas -lcudart' &&
     printf '%s' "$out" | grep -q -- '-DCUDA_MODULE_BUILT=1'
  then pass cuda_module_planned_with_sm80_sm90_ptx
  else fail cuda_module_planned_with_sm80_sm90_ptx "module line: ${mod:-none}"; fi
  n=$(links_cuda "$out")
  total=$(printf '%s\n' "$out" | grep -cE '^(cc|gcc|clang)\b.* -o [^ ]*/(bin|tests)/')
  if [ "$total" -gt 0 ] && [ "$n" -eq 0 ]; then pass "programs_link_lines_name_no_cuda_library ($total link lines)"
  else fail programs_link_lines_name_no_cuda_library "$n of $total link lines name one"; fi
fi
rm -rf "$TMP/b"
finish
