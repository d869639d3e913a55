#!/usr/bin/env bash
# An op is its four files plus one line; a layer type is its nn/layers/ file plus one line
# (docs/architecture.md). Done as a contributor would, in a temporary copy of the tree (tracked
# files plus the build tree): a toy elementwise op, softsign (y = x / (1 + |x|)), as
# lib/ops/softsign.h, lib/backend/cpu/softsign.c, lib/backend/cuda/softsign.cu and
# tests/ops/softsign.c plus its line in lib/backend/ops_list.h, and a layer type Softsign using
# it as lib/nn/layers/squash.c plus its line in lib/nn/layer_types.h. Nothing else is written
# (but a model file and its params, which are data): the copy must build (CUDA included where
# nvcc is), pass the op harness on softsign and the whole-net check (test_net) with a model
# file convnet_softsign.json that uses it, keep op_files' rule, and train that model on the
# mini archive. Slow (a rebuild of most of the tree): SKIP_PIPELINE=1 skips it.
source "$(dirname "$0")/../lib.sh"
[ -z "${SKIP_PIPELINE:-}" ] || { skip new_op "SKIP_PIPELINE is set"; finish; }
[ -f "$MINI" ] || { skip new_op "no $MINI"; finish; }
cd "$ROOT"
make -q all 2>/dev/null || { fail new_op "the tree is not built (make all first)"; finish; }

T=$TMP/tree
mkdir -p "$T"
git ls-files -z | tar --null -T - -cf - | tar -xf - -C "$T" && cp -a "${BUILD:-build}" "$T/" ||
  { fail copy_tree "could not copy the tree"; finish; }
cd "$T"
before=$(find . -path "./${BUILD:-build}" -prune -o -type f -print | sort | xargs sha256sum)

# ---- the op: four files ----
cat > lib/ops/softsign.h <<'EOF'
/* softsign.h: the Softsign op's contract and its element maths.
 *
 * Backend entries (backend_iface):
 *   softsign_fwd(ctx, x, y)        y = x / (1 + |x|), any layout (y may be x)
 *   softsign_bwd(ctx, x, dy, dx)   dx = dy / (1 + |x|)^2, from the forward's input */
#ifndef OPS_SOFTSIGN_H
#define OPS_SOFTSIGN_H

#include <math.h>
#include "backend/hostdev.h"

OPS_HD float softsign_value(float x) { return x / (1.0f + fabsf(x)); }
OPS_HD float softsign_grad(float x, float dy) { float d = 1.0f + fabsf(x); return dy / (d * d); }

#endif

/* the op's backend entries, outside the include guard: backend/ops_list.h expands them */
#ifdef OP_ENTRY
OP_NAME(softsign)
OP_ENTRY(int, softsign_fwd, (void *ctx, const tensor *x, tensor *y))
OP_ENTRY(int, softsign_bwd, (void *ctx, const tensor *x, const tensor *dy, tensor *dx))
#endif
EOF
cat > lib/backend/cpu/softsign.c <<'EOF'
/* softsign.c: Softsign forward and backward on plain or channel-blocked tensors (0 stays 0). */
#include "backend/cpu/cpu_backend.h"
#include "ops/softsign.h"

int cpu_softsign_fwd(void *ctx, const tensor *x, tensor *y)
{
    (void)ctx;
    size_t n = cpu_used_bytes(x) / sizeof(float);
    const float *a = x->data;
    float *b = y->data;
    #pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) b[i] = softsign_value(a[i]);
    return C_OK;
}

int cpu_softsign_bwd(void *ctx, const tensor *x, const tensor *dy, tensor *dx)
{
    (void)ctx;
    size_t n = cpu_used_bytes(x) / sizeof(float);
    const float *a = x->data, *g = dy->data;
    float *d = dx->data;
    #pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) d[i] = softsign_grad(a[i], g[i]);
    return C_OK;
}
EOF
cat > lib/backend/cuda/softsign.cu <<'EOF'
/* softsign.cu: Softsign forward and backward (ops/softsign.h) on the elementwise kernel. */
#include "backend/cuda/elementwise.cuh"

struct softsign_fwd_f { __device__ float operator()(float x) const { return softsign_value(x); } };
struct softsign_bwd_f { __device__ float operator()(float x, float g) const { return softsign_grad(x, g); } };

int cuda_softsign_fwd(void *ctx, const tensor *x, tensor *y) { return cuda_map(ctx, softsign_fwd_f(), y, x); }
int cuda_softsign_bwd(void *ctx, const tensor *x, const tensor *dy, tensor *dx)
{
    return cuda_map(ctx, softsign_bwd_f(), dx, x, dy);
}
EOF
cat > tests/ops/softsign.c <<'EOF'
/* softsign.c: Softsign's reference and cases. Tolerances: forward 1e-6, the gradient 2e-3 against
 * finite differences; CUDA against the CPU 0 (the same float functions). */
#include "ops/harness.h"

#include <math.h>
#include <string.h>

void ref_softsign(double *x, size_t n) { for (size_t i = 0; i < n; i++) x[i] = x[i] / (1 + fabs(x[i])); }

typedef struct softsign_case { int n, c, h, w; tensor_layout layout; } softsign_case;
typedef struct softsign_ctx { size_t n; double *x, *r, *y; } softsign_ctx;

static double softsign_f(void *vp)
{
    softsign_ctx *R = vp;
    memcpy(R->y, R->x, R->n * sizeof(double));
    ref_softsign(R->y, R->n);
    return ops_dot(R->y, R->r, R->n);
}

static void softsign_run(ops_env *e, const void *param)
{
    const softsign_case *c = param;
    const backend_iface *B = ops_iface(e);
    int xs[4] = { c->n, c->c, c->h, c->w };
    softsign_ctx R = { (size_t)c->n * c->c * c->h * c->w, NULL, NULL, NULL };
    R.x = ops_rand(e, R.n, -3, 3);
    R.r = ops_rand(e, R.n, -1, 1);
    R.y = ops_alloc(e, R.n * sizeof(double));
    tensor *x = ops_tensor(e, 4, xs, c->layout, R.x), *y = ops_tensor(e, 4, xs, c->layout, NULL),
           *dy = ops_tensor(e, 4, xs, c->layout, R.r), *dx = ops_tensor(e, 4, xs, c->layout, NULL);
    OPS_CHECK(e, B->softsign_fwd(ops_ctx(e), x, y) == C_OK);
    if (ops_reference(e)) softsign_f(&R);
    ops_expect(e, "y", y, R.y, 1e-6, 0);
    OPS_CHECK(e, B->softsign_bwd(ops_ctx(e), x, dy, dx) == C_OK);
    ops_expect_grad(e, "dx", dx, R.x, R.n, softsign_f, &R, 40, 2e-3, 0);
}

#define SOFTSIGN(name, ...) { "softsign/" name, softsign_run, &(const softsign_case){ __VA_ARGS__ } }
static const ops_case cases[] = {
    SOFTSIGN("n3 c21 5x3 plain", 3, 21, 5, 3, TL_PLAIN),
    SOFTSIGN("n3 c21 5x3 blocked", 3, 21, 5, 3, TL_ACT),
};

OPS_SUITE(softsign, cases);
EOF
# ---- and its one line ----
sed -i 's|^#include "ops/sgd.h"$|&\n#include "ops/softsign.h"|' lib/backend/ops_list.h

# ---- the layer type: its file ----
cat > lib/nn/layers/squash.c <<'EOF'
/* squash.c: the Softsign layer kind (nn.Softsign(): y = x / (1 + |x|), no parameters). */
#include "nn/layer.h"

static int squash_forward(net *n, layer *L, const tensor *x, int training)
{
    (void)training;
    const backend *be = net_backend(n);
    return be->iface->softsign_fwd(be->ctx, x, &L->y);
}

static int squash_backward(net *n, layer *L, const tensor *x, tensor *dx)
{
    const backend *be = net_backend(n);
    return dx ? be->iface->softsign_bwd(be->ctx, x, &L->dy, dx) : C_OK;
}

const layer_kind layer_kind_softsign = {
    .type = ML_SOFTSIGN,
    .build = layer_build_same, .forward = squash_forward, .backward = squash_backward,
};
EOF
# ---- and its one line ----
sed -i 's|^    X(MUL, |    X(SOFTSIGN,    "Softsign",          softsign,    " ",                                          0, softsign) \\\n&|' lib/nn/layer_types.h

# what changed: the two lists by one line each, the five new files, nothing else
after=$(find . -path "./${BUILD:-build}" -prune -o -type f -print | sort | xargs sha256sum)
changed=$(diff <(printf '%s\n' "$before") <(printf '%s\n' "$after") | sed -n 's/^> [0-9a-f]*  \.\///p' | sort | xargs)
want="lib/backend/cpu/softsign.c lib/backend/cuda/softsign.cu lib/backend/ops_list.h lib/nn/layer_types.h lib/nn/layers/squash.c lib/ops/softsign.h tests/ops/softsign.c"
[ "$changed" = "$want" ] && pass new_op_files || fail new_op_files "changed: $changed"
lines() { diff "$ROOT/$1" "$1" | grep -c '^>'; }
[ "$(lines lib/backend/ops_list.h)" = 1 ] && [ "$(lines lib/nn/layer_types.h)" = 1 ] &&
  [ "$(diff "$ROOT/lib/backend/ops_list.h" lib/backend/ops_list.h | grep -c '^<')" = 0 ] &&
  [ "$(diff "$ROOT/lib/nn/layer_types.h" lib/nn/layer_types.h | grep -c '^<')" = 0 ] &&
  pass one_line_per_list || fail one_line_per_list "$(diff "$ROOT/lib/backend/ops_list.h" lib/backend/ops_list.h; diff "$ROOT/lib/nn/layer_types.h" lib/nn/layer_types.h)"

# a model file that uses it (data: convnet with Softsign for its ReLUs)
sed 's/"arch": "convnet"/"arch": "convnet_softsign"/; s/{"type": "ReLU"}/{"type": "Softsign"}/' models/convnet.json \
  > models/convnet_softsign.json
[ "$(grep -c Softsign models/convnet_softsign.json)" = 3 ] && pass model_uses_softsign ||
  fail model_uses_softsign "$(cat models/convnet_softsign.json)"

if make -j2 --no-print-directory NO_DEPS_CHECK=1 all >"$TMP/build.log" 2>&1; then pass copy_builds
else fail copy_builds "$(grep -E 'error|Error' "$TMP/build.log" | head -n 5)"; finish; fi
B=${BUILD:-build}
grep -q 'softsign.cu' "$TMP/build.log" && pass cuda_op_built ||
  { grep -q nvcc "$TMP/build.log" && fail cuda_op_built "softsign.cu not compiled" || skip cuda_op_built "no nvcc"; }

export OMP_NUM_THREADS=2
out=$(OPS_ONLY=softsign "$B/tests/ops/test_backend_ops" 2>&1)
[ $? -eq 0 ] && printf '%s\n' "$out" | grep -q '^PASS: softsign/n3 c21 5x3 blocked (cpu' && pass op_harness_runs_it ||
  fail op_harness_runs_it "$(printf '%s\n' "$out" | grep -E '^FAIL' | head -n 5)"
out=$("$B/tests/unit/test_net" 2>&1)
[ $? -eq 0 ] && printf '%s\n' "$out" | grep -q '^PASS: gradients_convnet_softsign' && pass whole_net_check_covers_it ||
  fail whole_net_check_covers_it "$(printf '%s\n' "$out" | grep -E '^FAIL|type' | head -n 5)"
git init -q . && git add -A . && out=$(bash tests/cli/op_files.sh 2>&1) &&
  printf '%s\n' "$out" | grep -q '^PASS: op_files_softsign' && pass op_files_rule_holds ||
  fail op_files_rule_holds "$(printf '%s\n' "$out" | grep -E '^FAIL' | head -n 5)"

# trained on the mini archive: three epochs of 3,000 images learn more than chance
"$B/bin/sort" --archive "$MINI" --out art >/dev/null && "$B/bin/stats" --data art/data/train.safetensors --out art/stats.json >/dev/null ||
  { fail train_new_layer "sort or stats failed"; finish; }
cat > train.json <<'EOF'
{"seed": 3, "batch_size": 64, "momentum": 0.9, "augment": {"pad": 4, "flip": true},
 "lr_find": {"start_lr": 1e-5, "end_lr": 10},
 "phases": [{"lr": 0.03, "n_cycle": 1}, {"lr": 0.1, "n_cycle": 2, "cycle_len": 1}]}
EOF
if "$B/bin/train" --model models/convnet_softsign.json --params train.json --data art/data --stats art/stats.json \
     --threads 2 --ckpt s.ckpt --metrics s.metrics.json --summary s.summary.json >"$TMP/train.log" 2>&1; then
  acc=$(grep -o '"accuracy":[[:space:]]*[0-9.e-]*' s.metrics.json | tail -n 1 | sed 's/.*:[[:space:]]*//')
  awk -v a="$acc" 'BEGIN { exit !(a > 0.2) }' && pass train_new_layer || fail train_new_layer "last accuracy $acc"
else fail train_new_layer "$(tail -n 3 "$TMP/train.log")"; fi
finish
