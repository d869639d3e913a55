/* conv2d.cu: conv2d forward and backward through cuDNN's legacy API (still in cuDNN 9).
 *
 * A plan holds the filter descriptor and, per distinct batch size (made on first use, at most
 * PLAN_CACHE_MAX, backend/plan_cache.h), tensor descriptors, one convolution descriptor per direction (each carries the
 * math type of the algorithm chosen for it) and the three algorithms. Algorithms are chosen once
 * per shape and batch size and cached in the context, so layers of equal shape share the choice:
 * by timing (cudnnFind*) normally; in deterministic mode by cuDNN's heuristics (cudnnGet*_v7,
 * which do not depend on timing, so every run picks the same algorithm) keeping only algorithms
 * reported CUDNN_DETERMINISTIC. The cache key leaves forward_only out: a forward-only (inference)
 * plan takes the forward algorithm a training plan of the same shape chose, and a training plan
 * made after a forward-only one keeps its forward choice and only adds the backward ones, so an
 * inference net's forward is the training net's bit for bit within one context (across
 * processes only deterministic mode repeats a choice: timing differs from run to run).
 * The one workspace in the context grows to the largest need when an
 * instance is made, so a training step allocates nothing.
 * Bias and the fused ReLU are our own kernels after the convolution; backward masks dy by y > 0
 * into ctx->mask and sums the bias gradient with the deterministic channel reduction. */
#include "backend/cuda/cuda_backend.h"

#include <stdlib.h>
#include <string.h>

#define CONV_WS_LIMIT ((size_t)1 << 30)   /* never pick an algorithm needing more workspace */

typedef struct conv_inst {
    int n;
    cudnnTensorDescriptor_t xd, yd;
    cudnnConvolutionDescriptor_t cf, cd, cw;   /* forward, backward data, backward filter */
    cuda_algo a;
    size_t ws_f, ws_d, ws_w;
} conv_inst;

struct conv2d_plan {
    conv2d_desc d;
    int oh, ow;
    cudnnFilterDescriptor_t wd;
    cuda_ctx *ctx;
    plan_cache cache;   /* which of inst[] serve which batch size */
    conv_inst inst[PLAN_CACHE_MAX];
};

static void inst_free(conv_inst *I)
{
    cuda_ctx *c = NULL;   /* teardown: failures are printed, nothing is pending */
    if (I->xd) cudnn_check(c, cudnnDestroyTensorDescriptor(I->xd), "cudnnDestroyTensorDescriptor", __FILE__, __LINE__);
    if (I->yd) cudnn_check(c, cudnnDestroyTensorDescriptor(I->yd), "cudnnDestroyTensorDescriptor", __FILE__, __LINE__);
    cudnnConvolutionDescriptor_t cs[3] = { I->cf, I->cd, I->cw };
    for (int i = 0; i < 3; i++)
        if (cs[i]) cudnn_check(c, cudnnDestroyConvolutionDescriptor(cs[i]), "cudnnDestroyConvolutionDescriptor", __FILE__, __LINE__);
    memset(I, 0, sizeof *I);
}

static cudnnMathType_t base_math(const cuda_ctx *c) { return c->tf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH; }

/* Without TF32 only FMA (or default, which we then pin to FMA) results are acceptable. */
static int math_ok(const cuda_ctx *c, cudnnMathType_t m) { return c->tf32 || m == CUDNN_FMA_MATH || m == CUDNN_DEFAULT_MATH; }
static cudnnMathType_t math_use(const cuda_ctx *c, cudnnMathType_t m) { return c->tf32 ? m : CUDNN_FMA_MATH; }

static int conv_desc_make(cuda_ctx *c, const conv2d_desc *d, cudnnConvolutionDescriptor_t *cv)
{
    DNN_RET(c, cudnnCreateConvolutionDescriptor(cv));
    /* PyTorch's Conv2d is a cross-correlation with symmetric zero padding */
    DNN_RET(c, cudnnSetConvolution2dDescriptor(*cv, d->pad, d->pad, d->stride, d->stride, 1, 1,
                                            CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    DNN_RET(c, cudnnSetConvolutionMathType(*cv, base_math(c)));
    return C_OK;
}

/* Picks from perf results (sorted best first): success, workspace within the limit, determinism
 * when asked for, acceptable math. Returns the index or -1. */
#define PICK(c, perf, got, out) do { \
        out = -1; \
        for (int i_ = 0; i_ < (got); i_++) \
            if ((perf)[i_].status == CUDNN_STATUS_SUCCESS && (perf)[i_].memory <= CONV_WS_LIMIT && \
                (!(c)->deterministic || (perf)[i_].determinism == CUDNN_DETERMINISTIC) && \
                math_ok((c), (perf)[i_].mathType)) { out = i_; break; } \
    } while (0)

/* The algorithms cuDNN ranks for one pass: its heuristics' list when deterministic (no timing),
 * else the list it times (Find); get and find take the same arguments. */
template <class Get, class Find, class... A> static cudnnStatus_t algo_list(cuda_ctx *c, Get get, Find find, A... a)
{
    return c->deterministic ? get(c->dnn, a...) : find(c->dnn, a...);
}

/* fwd_known: the forward choice is already in I->a (a forward-only plan made it): only the
 * backward ones are chosen. */
static int algo_choose(cuda_ctx *c, const conv2d_plan *P, conv_inst *I, int fwd_known)
{
    cuda_algo *a = &I->a;
    /* fallbacks: deterministic algorithms every shape supports */
    a->bwdd = CUDNN_CONVOLUTION_BWD_DATA_ALGO_1;
    a->bwdf = CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1;
    a->bwdd_math = a->bwdf_math = base_math(c);
    int got = 0, k;

    if (!fwd_known) {
        a->fwd = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM;
        a->fwd_math = base_math(c);
        cudnnConvolutionFwdAlgoPerf_t pf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
        DNN_RET(c, algo_list(c, cudnnGetConvolutionForwardAlgorithm_v7, cudnnFindConvolutionForwardAlgorithm, I->xd,
                             P->wd, I->cf, I->yd, (int)CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &got, pf));
        PICK(c, pf, got, k);
        if (k >= 0) { a->fwd = pf[k].algo; a->fwd_math = math_use(c, pf[k].mathType); }
    }
    a->has_bwd = !P->d.forward_only;
    if (P->d.forward_only) return C_OK;   /* inference: no backward algorithms */

    if (P->d.need_dx) {
        cudnnConvolutionBwdDataAlgoPerf_t pd[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
        DNN_RET(c, algo_list(c, cudnnGetConvolutionBackwardDataAlgorithm_v7, cudnnFindConvolutionBackwardDataAlgorithm,
                             P->wd, I->yd, I->cd, I->xd, (int)CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &got, pd));
        PICK(c, pd, got, k);
        if (k >= 0) { a->bwdd = pd[k].algo; a->bwdd_math = math_use(c, pd[k].mathType); }
    }

    cudnnConvolutionBwdFilterAlgoPerf_t pw[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
    DNN_RET(c, algo_list(c, cudnnGetConvolutionBackwardFilterAlgorithm_v7, cudnnFindConvolutionBackwardFilterAlgorithm,
                         I->xd, I->yd, I->cw, P->wd, (int)CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &got, pw));
    PICK(c, pw, got, k);
    if (k >= 0) { a->bwdf = pw[k].algo; a->bwdf_math = math_use(c, pw[k].mathType); }
    return C_OK;
}

static cuda_algo *algo_cached(cuda_ctx *c, const int key[10])
{
    for (int i = 0; i < c->n_algos; i++)
        if (!memcmp(c->algos[i].key, key, sizeof c->algos[i].key)) return &c->algos[i];
    return NULL;
}

static void algo_store(cuda_ctx *c, const cuda_algo *a)
{
    if (c->n_algos == c->cap_algos) {
        c->cap_algos = c->cap_algos ? 2 * c->cap_algos : 16;
        cuda_algo *grown = (cuda_algo *)realloc(c->algos, (size_t)c->cap_algos * sizeof *c->algos);
        if (!grown) {   /* out of memory: the choice is not cached, only made again next time */
            c->cap_algos = c->n_algos;
            return;
        }
        c->algos = grown;
    }
    c->algos[c->n_algos++] = *a;
}

static int inst_make(cuda_ctx *c, conv2d_plan *P, conv_inst *I, int n)
{
    const conv2d_desc *d = &P->d;
    memset(I, 0, sizeof *I);
    I->n = n;
    int dims[4];
    if (cudnn_check(c, cudnnCreateTensorDescriptor(&I->xd), "cudnnCreateTensorDescriptor", __FILE__, __LINE__) ||
        cudnn_check(c, cudnnCreateTensorDescriptor(&I->yd), "cudnnCreateTensorDescriptor", __FILE__, __LINE__) ||
        cudnn_check(c, cudnnSetTensor4dDescriptor(I->xd, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, n, d->ic, d->ih, d->iw),
                    "cudnnSetTensor4dDescriptor(x)", __FILE__, __LINE__) ||
        cudnn_check(c, cudnnSetTensor4dDescriptor(I->yd, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, n, d->oc, P->oh, P->ow),
                    "cudnnSetTensor4dDescriptor(y)", __FILE__, __LINE__) ||
        conv_desc_make(c, d, &I->cf) || conv_desc_make(c, d, &I->cd) || conv_desc_make(c, d, &I->cw) ||
        cudnn_check(c, cudnnGetConvolution2dForwardOutputDim(I->cf, I->xd, P->wd, &dims[0], &dims[1], &dims[2], &dims[3]),
                    "cudnnGetConvolution2dForwardOutputDim", __FILE__, __LINE__))
        goto fail;
    if (dims[0] != n || dims[1] != d->oc || dims[2] != P->oh || dims[3] != P->ow) {
        err_msg("conv2d", "cuDNN output shape %dx%dx%dx%d differs from the expected %dx%dx%dx%d",
                dims[0], dims[1], dims[2], dims[3], n, d->oc, P->oh, P->ow);
        goto fail;
    }
    {
        /* forward_only is not in the key: inference reuses training's forward choice */
        int key[10] = { n, d->ic, d->ih, d->iw, d->oc, d->kh, d->kw, d->stride, d->pad, d->need_dx };
        cuda_algo *hit = algo_cached(c, key);
        if (hit && (hit->has_bwd || d->forward_only)) I->a = *hit;
        else {
            if (hit) I->a = *hit;   /* a forward-only plan chose the forward: keep it */
            if (algo_choose(c, P, I, hit != NULL)) goto fail;
            memcpy(I->a.key, key, sizeof key);
            if (hit) *hit = I->a;
            else algo_store(c, &I->a);
        }
    }
    if (cudnn_check(c, cudnnSetConvolutionMathType(I->cf, I->a.fwd_math), "cudnnSetConvolutionMathType", __FILE__, __LINE__) ||
        cudnn_check(c, cudnnSetConvolutionMathType(I->cd, I->a.bwdd_math), "cudnnSetConvolutionMathType", __FILE__, __LINE__) ||
        cudnn_check(c, cudnnSetConvolutionMathType(I->cw, I->a.bwdf_math), "cudnnSetConvolutionMathType", __FILE__, __LINE__) ||
        cudnn_check(c, cudnnGetConvolutionForwardWorkspaceSize(c->dnn, I->xd, P->wd, I->cf, I->yd, I->a.fwd, &I->ws_f),
                    "cudnnGetConvolutionForwardWorkspaceSize", __FILE__, __LINE__) ||
        (!d->forward_only &&
         cudnn_check(c, cudnnGetConvolutionBackwardFilterWorkspaceSize(c->dnn, I->xd, I->yd, I->cw, P->wd, I->a.bwdf, &I->ws_w),
                     "cudnnGetConvolutionBackwardFilterWorkspaceSize", __FILE__, __LINE__)))
        goto fail;
    if (d->need_dx && !d->forward_only &&
        cudnn_check(c, cudnnGetConvolutionBackwardDataWorkspaceSize(c->dnn, P->wd, I->yd, I->cd, I->xd, I->a.bwdd, &I->ws_d),
                    "cudnnGetConvolutionBackwardDataWorkspaceSize", __FILE__, __LINE__))
        goto fail;
    {
        size_t ws = I->ws_f > I->ws_w ? I->ws_f : I->ws_w;
        if (I->ws_d > ws) ws = I->ws_d;
        if (cuda_ws_reserve(c, ws)) goto fail;
    }
    return C_OK;
fail:
    inst_free(I);
    return err_msg("conv2d", "cannot set up cuDNN for n=%d ic=%d %dx%d oc=%d k=%dx%d s=%d p=%d",
                   n, d->ic, d->ih, d->iw, d->oc, d->kh, d->kw, d->stride, d->pad);
}

/* plan_cache callbacks: arg is the plan */
static int inst_make_cb(void *arg, void *inst, int n)
{
    conv2d_plan *P = (conv2d_plan *)arg;
    return inst_make(P->ctx, P, (conv_inst *)inst, n);
}

static void inst_free_cb(void *inst) { inst_free((conv_inst *)inst); }

conv2d_plan *cuda_conv2d_plan_make(void *ctx, const conv2d_desc *d)
{
    cuda_ctx *c = (cuda_ctx *)ctx;
    int oh = 0, ow = 0;
    if (conv2d_desc_check(d, &oh, &ow) != C_OK) return NULL;
    conv2d_plan *P = (conv2d_plan *)calloc(1, sizeof *P);
    if (!P) {
        err_msg("conv2d", "out of memory");
        return NULL;
    }
    P->d = *d;
    P->ctx = c;
    P->cache.op = "conv2d";
    P->cache.max_n = d->max_n;
    P->cache.inst = P->inst;
    P->cache.size = sizeof P->inst[0];
    P->cache.make = inst_make_cb;
    P->cache.free = inst_free_cb;
    P->cache.arg = P;
    P->oh = oh;
    P->ow = ow;
    if (cudnn_check(c, cudnnCreateFilterDescriptor(&P->wd), "cudnnCreateFilterDescriptor", __FILE__, __LINE__) ||
        cudnn_check(c, cudnnSetFilter4dDescriptor(P->wd, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, d->oc, d->ic, d->kh, d->kw),
                    "cudnnSetFilter4dDescriptor", __FILE__, __LINE__) ||
        (d->relu && cuda_mask_reserve(c, (size_t)d->max_n * d->oc * P->oh * P->ow * sizeof(float))) ||
        /* the max_n instance now, so errors show when the net is built */
        !plan_cache_get(&P->cache, d->max_n)) {
        cuda_conv2d_plan_free(c, P);
        return NULL;
    }
    return P;
}

void cuda_conv2d_plan_free(void *ctx, conv2d_plan *P)
{
    cuda_ctx *c = (cuda_ctx *)ctx;
    if (!P) return;
    plan_cache_free(&P->cache);
    if (P->wd) cudnn_check(c, cudnnDestroyFilterDescriptor(P->wd), "cudnnDestroyFilterDescriptor", __FILE__, __LINE__);
    free(P);
}

/* y = relu?(y + b[c]) in place, NCHW */
__global__ void bias_relu_kernel(float *y, const float *b, int relu, size_t total, int C, int HW)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
        float v = y[i];
        if (b) v += b[(i / HW) % C];
        y[i] = relu && !(v > 0.0f) ? 0.0f : v;
    }
}

__global__ void relu_mask_kernel(const float *y, const float *dy, float *out, size_t total)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x)
        out[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

struct plain_sum {
    const float *g;
    __device__ double2 operator()(size_t i, int) const { return make_double2((double)g[i], 0.0); }
};

__global__ void bias_grad_final_kernel(const double2 *part, int P, int C, float *db)
{
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c < C) db[c] = (float)chan_total(part, c, P).x;
}

int cuda_conv2d_fwd(void *ctx, conv2d_plan *P, const tensor *x, const tensor *w, const tensor *b, tensor *y)
{
    cuda_ctx *c = (cuda_ctx *)ctx;
    conv_inst *I = (conv_inst *)plan_cache_get(&P->cache, x->shape[0]);
    if (!I) return C_ERR;
    const float one = 1.0f, zero = 0.0f;
    DNN_RET(c, cudnnConvolutionForward(c->dnn, &one, I->xd, x->data, P->wd, w->data, I->cf, I->a.fwd, c->ws, I->ws_f,
                                    &zero, I->yd, y->data));
    if (P->d.bias || P->d.relu) {
        size_t total = (size_t)I->n * P->d.oc * P->oh * P->ow;
        LAUNCH_RET(c, bias_relu_kernel, cuda_blocks(total), CUDA_THREADS, (float *)y->data,
                   P->d.bias ? (const float *)b->data : (const float *)NULL, P->d.relu, total, P->d.oc, P->oh * P->ow);
    }
    return C_OK;
}

int cuda_conv2d_bwd(void *ctx, conv2d_plan *P, const tensor *x, const tensor *w, const tensor *y,
                  const tensor *dy, tensor *dx, tensor *dw, tensor *db)
{
    cuda_ctx *c = (cuda_ctx *)ctx;
    if (P->d.forward_only) return err_msg("conv2d", "backward asked of a forward-only plan");
    conv_inst *I = (conv_inst *)plan_cache_get(&P->cache, x->shape[0]);
    if (!I) return C_ERR;
    const float one = 1.0f, zero = 0.0f;
    const int N = I->n, C = P->d.oc, HW = P->oh * P->ow;
    const size_t total = (size_t)N * C * HW;
    const float *g = (const float *)dy->data;
    if (P->d.relu) {
        LAUNCH_RET(c, relu_mask_kernel, cuda_blocks(total), CUDA_THREADS, (const float *)y->data, g, (float *)c->mask, total);
        g = (const float *)c->mask;
    }
    DNN_RET(c, cudnnConvolutionBackwardFilter(c->dnn, &one, I->xd, x->data, I->yd, g, I->cw, I->a.bwdf, c->ws, I->ws_w,
                                           &zero, P->wd, dw->data));
    if (P->d.bias && db) {
        int parts = chan_parts(N, C, HW);
        if (cuda_red_reserve(c, (size_t)C * parts * sizeof(double2))) return C_ERR;
        plain_sum f = { g };
        LAUNCH_RET(c, chan_partial_kernel<plain_sum>, dim3(C, parts), CUDA_THREADS, f, N, C, HW, parts, (double2 *)c->red);
        LAUNCH_RET(c, bias_grad_final_kernel, (C + 127) / 128, 128, (const double2 *)c->red, parts, C, (float *)db->data);
    }
    if (dx) {
        if (!P->d.need_dx) return err_msg("conv2d", "input gradient asked of a plan made without need_dx");
        DNN_RET(c, cudnnConvolutionBackwardData(c->dnn, &one, P->wd, w->data, I->yd, g, I->cd, I->a.bwdd, c->ws, I->ws_d,
                                             &zero, I->xd, dx->data));
    }
    return C_OK;
}
