#!/usr/bin/env bash
# op_files: one op under one base name everywhere. For every contract header lib/ops/<op>.h,
# `git ls-files '*<op>*'` lists exactly lib/ops/<op>.h, lib/backend/cpu/<op>.c,
# lib/backend/cuda/<op>.cu and tests/ops/<op>.c (augment_batch has no CPU entry: its host twin
# is lib/data/augment.c), and every file of lib/backend/{cpu,cuda} and tests/ops is an op's or
# a named shared one (winograd.c/.h: the CPU conv2d's own Winograd algorithm). Model, params
# and sweep files are data, not code: their names are free.
source "$(dirname "$0")/../lib.sh"
cd "$ROOT" || exit 1
git rev-parse --is-inside-work-tree >/dev/null 2>&1 || { skip op_files "not a git checkout"; finish; }

ops=$(git ls-files 'lib/ops/*.h' | sed 's|^lib/ops/||; s|\.h$||')
[ -n "$ops" ] || { fail op_files "no lib/ops/*.h tracked"; finish; }
for op in $ops; do
  want="lib/backend/cpu/$op.c lib/backend/cuda/$op.cu lib/ops/$op.h tests/ops/$op.c"
  [ "$op" = augment_batch ] && want="lib/backend/cuda/$op.cu lib/ops/$op.h tests/ops/$op.c"
  # model, params and sweep files (and the docs) may use any name: `convnet_silu.json` is no op file
  got=$(git ls-files -- "*$op*" ':!models/' ':!params/' ':!sweeps/' ':!tests/models/' ':!docs/' | sort | tr '\n' ' ' | sed 's/ $//')
  if [ "$got" = "$want" ]; then pass "op_files_$op"; else fail "op_files_$op" "git ls-files '*$op*': '$got', want '$want'"; fi
done

# the other way round: each file of the op folders belongs to an op or is a named shared file
shared="lib/backend/cpu/cpu_backend.c lib/backend/cpu/cpu_backend.h lib/backend/cuda/cuda_backend.cu
lib/backend/cpu/cpu_weights.c lib/backend/cpu/simd.h lib/backend/cpu/winograd.c lib/backend/cpu/winograd.h
lib/backend/cuda/cuda_backend.h
lib/backend/cuda/elementwise.cuh tests/ops/harness.c tests/ops/harness.h tests/ops/reference.h
tests/ops/test_backend_ops.c"
stray=""
for f in $(git ls-files lib/backend/cpu lib/backend/cuda tests/ops); do
  base=$(basename "$f"); base=${base%%.*}
  case " $(echo $ops) " in *" $base "*) continue ;; esac
  case " $(echo $shared) " in *" $f "*) continue ;; esac
  stray="$stray $f"
done
if [ -z "$stray" ]; then pass op_files_no_strays; else fail op_files_no_strays "not an op's file:$stray"; fi
finish
