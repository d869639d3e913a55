#!/usr/bin/env bash
# Whole training runs side by side, as docs/determinism.md states them for one machine:
#   - CPU_MAX_ISA=avx2 against the AVX-512 default: byte-identical checkpoints and metrics (the own
#     kernels do per lane the same operations, log-softmax runs one kernel for both, and
#     CPU_MAX_ISA does not reach oneDNN). Needs an AVX-512 CPU; SKIP elsewhere.
#   - another thread count, oneDNN capped to AVX2 (ONEDNN_MAX_CPU_ISA) and the generic kernels:
#     only within a tolerance. The first step's loss (one forward pass, rounding alone) agrees
#     within 1e-5 relative on convbnnet and resnet2, and a gentle convbnnet run (lr 1e-3, 8 steps)
#     agrees within 1e-4 at every step. At the notebook's learning rates resnet2's runs part
#     after a few steps, so nothing longer is compared.
# Whether a variant changes the bits at all depends on the CPU (oneDNN may split a small shape the
# same way on 1 and 2 threads), so only the tolerance is asserted; each line prints the difference.
source "$(dirname "$0")/../lib.sh"
for b in sort stats train; do
  [ -x "$BIN/$b" ] || { skip determinism "${BUILD:-build}/bin/$b not built"; finish; }
done
PY=${PYTHON:-python3}
A=$TMP/art
mini_artifacts determinism_data "$A"

cat > "$TMP/gentle.json" <<'J'
{"seed": 0, "batch_size": 64, "momentum": 0.9, "augment": {"pad": 4, "flip": true},
 "lr_find": {"start_lr": 1e-05, "end_lr": 10}, "limit_batches": 4,
 "phases": [{"lr": 0.001, "n_cycle": 2, "cycle_len": 1}]}
J

train() {  # train ARCH PARAMS TAG THREADS [VAR=VALUE...]: one run into $TMP/TAG.*
  local arch=$1 params=$2 tag=$3 threads=$4; shift 4
  env "$@" "$BIN/train" --model "$ROOT/models/$arch.json" --params "$params" --data "$A/data" --stats "$A/stats.json" \
    --threads "$threads" --ckpt "$TMP/$tag.ckpt" --metrics "$TMP/$tag.metrics.json" --summary "$TMP/$tag.summary.json" \
    >/dev/null 2>"$TMP/$tag.err" || { fail "determinism_train_$tag" "$(tail -n 2 "$TMP/$tag.err")"; return 1; }
}
strip_times() { grep -Ev '"(train_seconds|loop_seconds|loader_wait_seconds|images_per_second|seconds)":' "$1"; }

# 1. CPU_MAX_ISA=avx2 against avx512: the same bytes (airbench94 runs GELU, BatchNorm2d and max
# pool, convbnnet BnLayer and ReLU, both log-softmax and SGD)
if grep -qw avx512f /proc/cpuinfo; then
  for arch in convbnnet airbench94; do
    train "$arch" "$ROOT/params/quick/$arch.json" "$arch.avx512" 2 CPU_MAX_ISA=avx512 &&
      train "$arch" "$ROOT/params/quick/$arch.json" "$arch.avx2" 2 CPU_MAX_ISA=avx2 || continue
    if cmp -s "$TMP/$arch.avx512.ckpt" "$TMP/$arch.avx2.ckpt" &&
       diff <(strip_times "$TMP/$arch.avx512.metrics.json") <(strip_times "$TMP/$arch.avx2.metrics.json") >/dev/null
    then pass "isa_avx2_equals_avx512_$arch"
    else fail "isa_avx2_equals_avx512_$arch" "CPU_MAX_ISA=avx2 gave other checkpoint or metrics bytes"; fi
  done
else
  skip isa_avx2_equals_avx512 "this CPU has no AVX-512 (lscpu: no avx512f), so avx2 is already its widest path"
fi

# 2. threads, oneDNN's ISA cap and the generic kernels: within a tolerance
within() {  # within NAME BASE OTHER STEPS TOL: losses of the first STEPS steps within TOL relative
  "$PY" - "$TMP/$2.metrics.json" "$TMP/$3.metrics.json" "$4" "$5" "$TMP/$2.ckpt" "$TMP/$3.ckpt" <<'PY' >"$TMP/$1.out" 2>&1 &&
import json, sys
a, b = (json.load(open(p))["iterations"]["loss"] for p in sys.argv[1:3])
steps, tol = int(sys.argv[3]), float(sys.argv[4])
steps = len(a) if steps == 0 else steps
assert len(a) == len(b) and len(a) >= steps, (len(a), len(b))
err = max(abs(x - y) / abs(x) for x, y in zip(a[:steps], b[:steps]))
assert err <= tol, f"losses differ by {err:.3g} relative (tolerance {tol})"
print(f"{steps} steps: max relative loss difference {err:.2g}")
PY
    { pass "$1"; sed 's/^/    /' "$TMP/$1.out"; } || fail "$1" "$(cat "$TMP/$1.out")"
}
for arch in convbnnet resnet2; do
  p=$TMP/$arch.first.json   # the quick params cut to one step
  "$PY" -c 'import json, sys; d = json.load(open(sys.argv[1])); d["limit_batches"] = 1; d["phases"] = [{"lr": d["phases"][0]["lr"], "n_cycle": 1}]
json.dump(d, open(sys.argv[2], "w"))' "$ROOT/params/quick/$arch.json" "$p"
  train "$arch" "$p" "$arch.t2" 2 || continue
  for v in "t1:1" "t3:3" "dnnl_avx2:2:ONEDNN_MAX_CPU_ISA=AVX2" "generic:2:CPU_MAX_ISA=generic"; do
    IFS=: read -r tag threads var <<<"$v"
    train "$arch" "$p" "$arch.$tag" "$threads" ${var:+"$var"} || continue
    within "first_step_within_1e-5_${arch}_$tag" "$arch.t2" "$arch.$tag" 1 1e-5
  done
done

train convbnnet "$TMP/gentle.json" gentle.t2 2 &&
  for v in "t1:1" "t3:3" "dnnl_avx2:2:ONEDNN_MAX_CPU_ISA=AVX2" "generic:2:CPU_MAX_ISA=generic"; do
    IFS=: read -r tag threads var <<<"$v"
    train convbnnet "$TMP/gentle.json" "gentle.$tag" "$threads" ${var:+"$var"} || continue
    within "gentle_run_within_1e-4_$tag" gentle.t2 "gentle.$tag" 0 1e-4
  done
no_leftovers determinism_no_temporaries "$TMP"
finish
