/* winograd.c: Winograd F(4x4, 3x3) forward and backward (the maths: winograd.h).
 *
 * Tile t of a chunk is image n0 + t / tpi, tile row and column (t % tpi) / tw, (t % tpi) % tw; its
 * input window starts at 4 * (row, column) - pad. Transformed data are [36][T][Cp] (V, dV) and
 * [36][T][Kp] (M, dM), transformed weights [36][Cp][Kp] (U, dU): rows of channels, so each
 * transform reads and writes whole channel blocks of the nChw<W>c tensors as vectors.
 *
 * The transform kernels are written once below the `#ifdef SIMD_W` and built three times: at 16
 * and 8 lanes through simd.h and at one lane of plain C (the generic path), all with the same
 * float operations per lane (multiply-adds as one fma), so every path gives the same bits. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include "backend/cpu/winograd.h"
#include "core/errors.h"

#ifndef WG_TYPES
#define WG_TYPES
#define WG_TILES 36     /* 6 x 6 transformed positions xi */
/* Images per chunk: as many as keep one chunk's V and M within this many bytes. It bounds the
 * workspace; it is not sized to a cache because each chunk costs its own parallel regions (three
 * to five barriers per pass), and on a loaded machine a barrier can cost a scheduler tick:
 * measured on two shared Zen 4 cores, 4 MB chunks ran resnet2's Winograd layers 3 to 10 times
 * slower than 64 MB ones. */
#define WG_CHUNK_BYTES ((size_t)64 << 20)
/* The 36 planes of V and M lie this many floats (one cache line) more than T * C apart: a
 * transform writes one vector to each plane, and planes a power of two apart would all fall in
 * one cache set. */
#define WG_SKEW 16
/* floats from one plane of T tiles x C channels to the next */
static inline size_t wg_plane(size_t T, size_t C) { return T * C + WG_SKEW; }

struct cpu_winograd {
    int C, K, CB, KB, B;       /* channels, their blocks of B = cpu_act_block lanes */
    size_t Cp, Kp;             /* padded channel counts CB * B, KB * B */
    int ih, iw, oh, ow, pad;
    int th, tw, tpi;           /* tile rows, columns, tiles per image */
    int bias, relu, forward_only, max_n;
    int isa;                   /* the transforms' kernel set (cpu_isa_for) */
    size_t chunk_bytes;        /* WG_CHUNK_BYTES unless a test set it */
    float *u;                  /* [36][Cp][Kp]: G g Gt of the weights (padding zero) */
    const float *u_of;         /* the weight buffer u was made from */
    float *bias_pad;           /* [Kp]: the bias, zero past K */
};

/* One batched matmul primitive with its memory objects (data handles set per call). */
typedef struct wg_mm {
    dnnl_primitive_t p;
    dnnl_memory_t a, b, d, scr;
} wg_mm;

enum { MM_FWD, MM_BWD_DATA, MM_BWD_WEIGHTS, MM_KINDS };

struct cpu_winograd_inst {
    int n, chunk;                 /* batch, images per chunk (the last chunk may have fewer) */
    wg_mm mm[2][MM_KINDS];        /* [a full chunk, the last chunk when smaller][kind] */
    size_t ws_bytes;              /* the workspace: V [36][T][Cp], M [36][T][Kp], dU [36][Cp][Kp] */
};
#endif

#ifdef SIMD_W   /* ---- transform kernels: W lanes (16, 8) or plain C (1) ---- */

#undef wv
#undef wv_load
#undef wv_store
#undef wv_zero
#undef WG_W
#undef WG_K
#undef WG_ADD
#undef WG_SUB
#undef WG_MUL
#undef WG_FMA
#undef WG_RELU
#if SIMD_W == 1
#define wv float
#define wv_load(p) (*(p))
#define wv_store(p, v) (*(p) = (v))
#define wv_zero() 0.0f
#define WG_W 1
#define WG_K(k) (k)
#define WG_ADD(a, b) ((a) + (b))
#define WG_SUB(a, b) ((a) - (b))
#define WG_MUL(a, b) ((a) * (b))
#define WG_FMA(a, b, c) fmaf(a, b, c)
#define WG_RELU(v) ((v) > 0.0f ? (v) : 0.0f)   /* as max_ps(v, 0): NaN and -0 give +0 */
#else
#define wv vf
#define wv_load(p) vf_load(p)
#define wv_store(p, v) vf_store(p, v)
#define wv_zero() vf_zero()
#define WG_W SIMD_W
#define WG_K(k) vf_set1(k)
#define WG_ADD(a, b) vf_add(a, b)
#define WG_SUB(a, b) vf_sub(a, b)
#define WG_MUL(a, b) vf_mul(a, b)
#define WG_FMA(a, b, c) vf_fmadd(a, b, c)
#define WG_RELU(v) vf_max(v, vf_zero())
#endif

/* The 1-D transforms; x and r are read and written with strides xs, rs. */

/* r = Bt x (6 -> 6); Bt rows: [4 0 -5 0 1 0] [0 -4 -4 1 1 0] [0 4 -4 -1 1 0] [0 -2 -1 2 1 0]
 * [0 2 -1 -2 1 0] [0 4 0 -5 0 1] */
SIMD_FN static inline void V(bt)(const wv *x, int xs, wv *r, int rs)
{
    wv x0 = x[0], x1 = x[xs], x2 = x[2 * xs], x3 = x[3 * xs], x4 = x[4 * xs], x5 = x[5 * xs];
    r[0] = WG_FMA(WG_K(4.0f), x0, WG_FMA(WG_K(-5.0f), x2, x4));
    r[rs] = WG_FMA(WG_K(-4.0f), WG_ADD(x1, x2), WG_ADD(x3, x4));
    r[2 * rs] = WG_FMA(WG_K(4.0f), WG_SUB(x1, x2), WG_SUB(x4, x3));
    r[3 * rs] = WG_FMA(WG_K(2.0f), WG_SUB(x3, x1), WG_SUB(x4, x2));
    r[4 * rs] = WG_FMA(WG_K(2.0f), WG_SUB(x1, x3), WG_SUB(x4, x2));
    r[5 * rs] = WG_FMA(WG_K(4.0f), x1, WG_FMA(WG_K(-5.0f), x3, x5));
}

/* r = B x (6 -> 6), the adjoint of bt */
SIMD_FN static inline void V(b)(const wv *x, int xs, wv *r, int rs)
{
    wv x0 = x[0], x1 = x[xs], x2 = x[2 * xs], x3 = x[3 * xs], x4 = x[4 * xs], x5 = x[5 * xs];
    wv s12 = WG_ADD(x1, x2), s34 = WG_ADD(x3, x4);
    r[0] = WG_MUL(WG_K(4.0f), x0);
    r[rs] = WG_FMA(WG_K(4.0f), WG_ADD(WG_SUB(x2, x1), x5), WG_MUL(WG_K(2.0f), WG_SUB(x4, x3)));
    r[2 * rs] = WG_SUB(WG_FMA(WG_K(-5.0f), x0, WG_MUL(WG_K(-4.0f), s12)), s34);
    r[3 * rs] = WG_FMA(WG_K(2.0f), WG_SUB(x3, x4), WG_FMA(WG_K(-5.0f), x5, WG_SUB(x1, x2)));
    r[4 * rs] = WG_ADD(WG_ADD(x0, s12), s34);
    r[5 * rs] = x5;
}

/* r = At x (6 -> 4); At rows: [1 1 1 1 1 0] [0 1 -1 2 -2 0] [0 1 1 4 4 0] [0 1 -1 8 -8 1] */
SIMD_FN static inline void V(at)(const wv *x, int xs, wv *r, int rs)
{
    wv a = WG_ADD(x[xs], x[2 * xs]), b = WG_SUB(x[xs], x[2 * xs]);
    wv c = WG_ADD(x[3 * xs], x[4 * xs]), e = WG_SUB(x[3 * xs], x[4 * xs]);
    r[0] = WG_ADD(WG_ADD(x[0], a), c);
    r[rs] = WG_FMA(WG_K(2.0f), e, b);
    r[2 * rs] = WG_FMA(WG_K(4.0f), c, a);
    r[3 * rs] = WG_ADD(WG_FMA(WG_K(8.0f), e, b), x[5 * xs]);
}

/* r = A x (4 -> 6), the adjoint of at */
SIMD_FN static inline void V(a)(const wv *x, int xs, wv *r, int rs)
{
    wv x0 = x[0], x1 = x[xs], x2 = x[2 * xs], x3 = x[3 * xs];
    wv p = WG_ADD(x0, x2), q = WG_ADD(x1, x3);
    wv s = WG_FMA(WG_K(4.0f), x2, x0), t = WG_FMA(WG_K(8.0f), x3, WG_MUL(WG_K(2.0f), x1));
    r[0] = x0;
    r[rs] = WG_ADD(p, q);
    r[2 * rs] = WG_SUB(p, q);
    r[3 * rs] = WG_ADD(s, t);
    r[4 * rs] = WG_SUB(s, t);
    r[5 * rs] = x3;
}

/* r = G x (3 -> 6); G rows: [1/4 0 0] [-1/6 -1/6 -1/6] [-1/6 1/6 -1/6] [1/24 1/12 1/6]
 * [1/24 -1/12 1/6] [0 0 1] */
SIMD_FN static inline void V(g)(const wv *x, int xs, wv *r, int rs)
{
    wv x0 = x[0], x1 = x[xs], x2 = x[2 * xs], x02 = WG_ADD(x0, x2), q = WG_MUL(WG_K(1.0f / 24), x0);
    r[0] = WG_MUL(WG_K(0.25f), x0);
    r[rs] = WG_MUL(WG_K(-1.0f / 6), WG_ADD(x02, x1));
    r[2 * rs] = WG_MUL(WG_K(-1.0f / 6), WG_SUB(x02, x1));
    r[3 * rs] = WG_FMA(WG_K(1.0f / 6), x2, WG_FMA(WG_K(1.0f / 12), x1, q));
    r[4 * rs] = WG_FMA(WG_K(1.0f / 6), x2, WG_FMA(WG_K(-1.0f / 12), x1, q));
    r[5 * rs] = x2;
}

/* r = Gt x (6 -> 3), the adjoint of g */
SIMD_FN static inline void V(gt)(const wv *x, int xs, wv *r, int rs)
{
    wv s12 = WG_ADD(x[xs], x[2 * xs]), s34 = WG_ADD(x[3 * xs], x[4 * xs]);
    r[0] = WG_FMA(WG_K(0.25f), x[0], WG_FMA(WG_K(-1.0f / 6), s12, WG_MUL(WG_K(1.0f / 24), s34)));
    r[rs] = WG_FMA(WG_K(1.0f / 6), WG_SUB(x[2 * xs], x[xs]), WG_MUL(WG_K(1.0f / 12), WG_SUB(x[3 * xs], x[4 * xs])));
    r[2 * rs] = WG_FMA(WG_K(1.0f / 6), WG_SUB(s34, s12), x[5 * xs]);
}

/* The tile of chunk tile t: its image, and the corner (h0, w0) of its window at offset `back`
 * (pad for an input window, 0 for an output tile). */
static inline int V(tile)(const cpu_winograd *P, int n0, size_t t, int back, int *h0, int *w0)
{
    int r = (int)(t % (size_t)P->tpi);
    *h0 = r / P->tw * 4 - back;
    *w0 = r % P->tw * 4 - back;
    return n0 + (int)(t / (size_t)P->tpi);
}

/* Items [lo, hi) of T * CB: V[xi][t][c] = (Bt d B)[xi], d tile t's 6x6 input window (zero
 * outside the image) */
SIMD_FN static void V(input_tf)(const cpu_winograd *P, const float *x, float *v, int n0, size_t T, size_t lo,
                                size_t hi)
{
    const int B = simd_block(P->B), H = P->ih, W = P->iw;
    for (size_t it = lo; it < hi; it++) {
        size_t t = it / (size_t)P->CB;
        int cb = (int)(it % (size_t)P->CB), h0, w0, n = V(tile)(P, n0, t, P->pad, &h0, &w0);
        const float *xp = x + ((size_t)n * P->CB + cb) * H * W * B;
        float *vp = v + t * P->Cp + (size_t)cb * B;
        const size_t sv = wg_plane(T, P->Cp);
        int inside = h0 >= 0 && h0 + 6 <= H && w0 >= 0 && w0 + 6 <= W;   /* no position to zero */
        for (int l = 0; l < B; l += WG_W) {
            wv d[6][6], e[6][6], o[6][6];
            if (inside)
                for (int i = 0; i < 6; i++)
                    for (int j = 0; j < 6; j++) d[i][j] = wv_load(xp + ((size_t)(h0 + i) * W + w0 + j) * B + l);
            else
                for (int i = 0; i < 6; i++)
                    for (int j = 0; j < 6; j++) {
                        int h = h0 + i, w = w0 + j;
                        d[i][j] = h >= 0 && h < H && w >= 0 && w < W ? wv_load(xp + ((size_t)h * W + w) * B + l) : wv_zero();
                    }
            for (int j = 0; j < 6; j++) V(bt)(&d[0][j], 6, &e[0][j], 6);
            for (int i = 0; i < 6; i++) V(bt)(&e[i][0], 1, &o[i][0], 1);
            for (int k = 0; k < WG_TILES; k++) wv_store(vp + k * sv + l, o[k / 6][k % 6]);
        }
    }
}

/* Items of T * KB: y's 4x4 tile t = relu?(At M A + bias) (positions past the map dropped) */
SIMD_FN static void V(output_tf)(const cpu_winograd *P, const float *m, const float *bias, float *y, int n0,
                                 size_t T, size_t lo, size_t hi)
{
    const int B = simd_block(P->B), OH = P->oh, OW = P->ow;
    for (size_t it = lo; it < hi; it++) {
        size_t t = it / (size_t)P->KB;
        int kb = (int)(it % (size_t)P->KB), h0, w0, n = V(tile)(P, n0, t, 0, &h0, &w0);
        const float *mp = m + t * P->Kp + (size_t)kb * B;
        const size_t sm = wg_plane(T, P->Kp);
        float *yp = y + ((size_t)n * P->KB + kb) * OH * OW * B;
        for (int l = 0; l < B; l += WG_W) {
            wv d[6][6], e[4][6], o[4][4];
            for (int k = 0; k < WG_TILES; k++) d[k / 6][k % 6] = wv_load(mp + k * sm + l);
            for (int j = 0; j < 6; j++) V(at)(&d[0][j], 6, &e[0][j], 6);
            for (int i = 0; i < 4; i++) V(at)(&e[i][0], 1, &o[i][0], 1);
            wv bv = bias ? wv_load(bias + (size_t)kb * B + l) : wv_zero();
            for (int i = 0; i < 4 && h0 + i < OH; i++)
                for (int j = 0; j < 4 && w0 + j < OW; j++) {
                    wv r = bias ? WG_ADD(o[i][j], bv) : o[i][j];
                    wv_store(yp + ((size_t)(h0 + i) * OW + w0 + j) * B + l, P->relu ? WG_RELU(r) : r);
                }
        }
    }
}

/* Items of T * KB: dM = A g At of tile t's 4x4 output gradient (zero past the map) */
SIMD_FN static void V(grad_out_tf)(const cpu_winograd *P, const float *g, float *m, int n0, size_t T, size_t lo,
                                   size_t hi)
{
    const int B = simd_block(P->B), OH = P->oh, OW = P->ow;
    for (size_t it = lo; it < hi; it++) {
        size_t t = it / (size_t)P->KB;
        int kb = (int)(it % (size_t)P->KB), h0, w0, n = V(tile)(P, n0, t, 0, &h0, &w0);
        const float *gp = g + ((size_t)n * P->KB + kb) * OH * OW * B;
        float *mp = m + t * P->Kp + (size_t)kb * B;
        const size_t sm = wg_plane(T, P->Kp);
        for (int l = 0; l < B; l += WG_W) {
            wv d[4][4], e[6][4], o[6][6];
            for (int i = 0; i < 4; i++)
                for (int j = 0; j < 4; j++)
                    d[i][j] = h0 + i < OH && w0 + j < OW ? wv_load(gp + ((size_t)(h0 + i) * OW + w0 + j) * B + l)
                                                         : wv_zero();
            for (int j = 0; j < 4; j++) V(a)(&d[0][j], 4, &e[0][j], 4);
            for (int i = 0; i < 6; i++) V(a)(&e[i][0], 1, &o[i][0], 1);
            for (int k = 0; k < WG_TILES; k++) wv_store(mp + k * sm + l, o[k / 6][k % 6]);
        }
    }
}

/* Items of nc * CB (chunk images, input blocks): dx's plane = the sum over the image's tiles, in
 * tile order, of B dV Bt at each window (positions outside the image dropped) */
SIMD_FN static void V(grad_in_tf)(const cpu_winograd *P, const float *v, float *dx, int n0, size_t T, size_t lo,
                                  size_t hi)
{
    const int B = simd_block(P->B), H = P->ih, W = P->iw;
    for (size_t it = lo; it < hi; it++) {
        int nl = (int)(it / (size_t)P->CB), cb = (int)(it % (size_t)P->CB);
        float *xp = dx + ((size_t)(n0 + nl) * P->CB + cb) * H * W * B;
        memset(xp, 0, (size_t)H * W * B * sizeof *xp);
        for (int r = 0; r < P->tpi; r++) {
            size_t t = (size_t)nl * P->tpi + r;
            int h0 = r / P->tw * 4 - P->pad, w0 = r % P->tw * 4 - P->pad;
            const float *vp = v + t * P->Cp + (size_t)cb * B;
            const size_t sv = wg_plane(T, P->Cp);
            for (int l = 0; l < B; l += WG_W) {
                wv d[6][6], e[6][6], o[6][6];
                for (int k = 0; k < WG_TILES; k++) d[k / 6][k % 6] = wv_load(vp + k * sv + l);
                for (int j = 0; j < 6; j++) V(b)(&d[0][j], 6, &e[0][j], 6);
                for (int i = 0; i < 6; i++) V(b)(&e[i][0], 1, &o[i][0], 1);
                for (int i = 0; i < 6; i++)
                    for (int j = 0; j < 6; j++) {
                        int h = h0 + i, w = w0 + j;
                        if (h < 0 || h >= H || w < 0 || w >= W) continue;
                        float *p = xp + ((size_t)h * W + w) * B + l;
                        wv_store(p, WG_ADD(wv_load(p), o[i][j]));
                    }
            }
        }
    }
}

/* Items of C * KB: U[xi][c][k] = (G w[k][c] Gt)[xi] for a block of k (zero past K) */
SIMD_FN static void V(weights_tf)(const cpu_winograd *P, const float *w, float *u, size_t lo, size_t hi)
{
    const int B = simd_block(P->B);
    for (size_t it = lo; it < hi; it++) {
        int c = (int)(it / (size_t)P->KB), kb = (int)(it % (size_t)P->KB);
        for (int l = 0; l < B; l += WG_W) {
            float lanes[9][WG_W];   /* the 9 taps of the block's kernels, gathered lane by lane */
            for (int q = 0; q < WG_W; q++) {
                int k = kb * B + l + q;
                for (int tap = 0; tap < 9; tap++) lanes[tap][q] = k < P->K ? w[((size_t)k * P->C + c) * 9 + tap] : 0.0f;
            }
            wv d[3][3], e[6][3], o[6][6];
            for (int tap = 0; tap < 9; tap++) d[tap / 3][tap % 3] = wv_load(lanes[tap]);
            for (int j = 0; j < 3; j++) V(g)(&d[0][j], 3, &e[0][j], 3);
            for (int i = 0; i < 6; i++) V(g)(&e[i][0], 1, &o[i][0], 1);
            for (int k = 0; k < WG_TILES; k++)
                wv_store(u + ((size_t)k * P->Cp + c) * P->Kp + (size_t)kb * B + l, o[k / 6][k % 6]);
        }
    }
}

/* Items of C * KB: dw[k][c] = Gt dU[.][c][k] G for a block of k */
SIMD_FN static void V(weights_grad_tf)(const cpu_winograd *P, const float *du, float *dw, size_t lo, size_t hi)
{
    const int B = simd_block(P->B);
    for (size_t it = lo; it < hi; it++) {
        int c = (int)(it / (size_t)P->KB), kb = (int)(it % (size_t)P->KB);
        for (int l = 0; l < B; l += WG_W) {
            wv d[6][6], e[3][6], o[3][3];
            for (int k = 0; k < WG_TILES; k++)
                d[k / 6][k % 6] = wv_load(du + ((size_t)k * P->Cp + c) * P->Kp + (size_t)kb * B + l);
            for (int j = 0; j < 6; j++) V(gt)(&d[0][j], 6, &e[0][j], 6);
            for (int i = 0; i < 3; i++) V(gt)(&e[i][0], 1, &o[i][0], 1);
            float lanes[9][WG_W];
            for (int tap = 0; tap < 9; tap++) wv_store(lanes[tap], o[tap / 3][tap % 3]);
            for (int q = 0; q < WG_W && kb * B + l + q < P->K; q++)
                for (int tap = 0; tap < 9; tap++) dw[((size_t)(kb * B + l + q) * P->C + c) * 9 + tap] = lanes[tap][q];
        }
    }
}

#else

#define SIMD_BODY "backend/cpu/winograd.c"
#include "backend/cpu/simd.h"
/* the generic path: the same kernels at one lane of plain C (SIMD_FN empty, names fn1) */
#define SIMD_FN_1
#define SIMD_W 1
#include "backend/cpu/winograd.c"
#undef SIMD_W

/* kernel fn on path isa: fn16, fn8 or the plain C fn1 */
#define WG_CALL(isa, fn, ...) \
    ((isa) == CPU_ISA_AVX512 ? fn##16(__VA_ARGS__) : (isa) == CPU_ISA_AVX2 ? fn##8(__VA_ARGS__) : fn##1(__VA_ARGS__))

int cpu_winograd_eligible(const conv2d_desc *d)
{
    return d->kh == 3 && d->kw == 3 && d->stride == 1 && (d->pad == 0 || d->pad == 1) && d->src_layout == TL_ACT;
}

cpu_winograd *cpu_winograd_make(cpu_ctx *c, const conv2d_desc *d, int oh, int ow)
{
    cpu_winograd *P = calloc(1, sizeof *P);
    if (!P) {
        err_msg("conv2d", "out of memory");
        return NULL;
    }
    P->B = cpu_act_block;
    P->C = d->ic;
    P->K = d->oc;
    P->CB = (d->ic + P->B - 1) / P->B;
    P->KB = (d->oc + P->B - 1) / P->B;
    P->Cp = (size_t)P->CB * P->B;
    P->Kp = (size_t)P->KB * P->B;
    P->ih = d->ih;
    P->iw = d->iw;
    P->oh = oh;
    P->ow = ow;
    P->pad = d->pad;
    P->th = (oh + 3) / 4;
    P->tw = (ow + 3) / 4;
    P->tpi = P->th * P->tw;
    P->bias = d->bias;
    P->relu = d->relu;
    P->forward_only = d->forward_only;
    P->max_n = d->max_n;
    P->isa = cpu_isa_for(c, P->B);
    P->chunk_bytes = WG_CHUNK_BYTES;
    P->u = cpu_alloc_bytes(WG_TILES * P->Cp * P->Kp * sizeof(float));
    P->bias_pad = cpu_alloc_bytes(P->Kp * sizeof(float));
    if (!P->u || !P->bias_pad) {
        cpu_winograd_free(P);
        return NULL;
    }
    return P;
}

void cpu_winograd_set_chunk_bytes(cpu_winograd *P, size_t bytes) { P->chunk_bytes = bytes; }

void cpu_winograd_free(cpu_winograd *P)
{
    if (!P) return;
    free(P->u);
    free(P->bias_pad);
    free(P);
}

static void mm_free(wg_mm *m)
{
    if (m->p) dnnl_primitive_destroy(m->p);
    dnnl_memory_t *ms[] = { &m->a, &m->b, &m->d, &m->scr };
    for (int i = 0; i < 4; i++)
        if (*ms[i]) dnnl_memory_destroy(*ms[i]);
    memset(m, 0, sizeof *m);
}

void cpu_winograd_inst_free(cpu_winograd_inst *I)
{
    if (!I) return;
    for (int s = 0; s < 2; s++)
        for (int k = 0; k < MM_KINDS; k++) mm_free(&I->mm[s][k]);
    free(I);
}

/* 36 matrices r x c, `plane` floats apart; transposed: 36 matrices c x r viewed as r x c. */
static int mat_md(dnnl_memory_desc_t *md, size_t r, size_t c, size_t plane, int transposed)
{
    dnnl_dims_t dims = { WG_TILES, (dnnl_dim_t)r, (dnnl_dim_t)c };
    dnnl_dims_t st = { (dnnl_dim_t)plane, transposed ? 1 : (dnnl_dim_t)c, transposed ? (dnnl_dim_t)r : 1 };
    return cpu_dnnl_check(dnnl_memory_desc_init_by_strides(md, 3, dims, dnnl_f32, st), "matmul memory desc");
}

/* The matmul of `kind` for T tiles:
 *   MM_FWD          M [T x Kp]  = V [T x Cp] . U [Cp x Kp]
 *   MM_BWD_DATA     dV [T x Cp] = dM [T x Kp] . U^t
 *   MM_BWD_WEIGHTS  dU [Cp x Kp] += V^t . dM (a sum post-op: chunks accumulate) */
static int mm_make(cpu_ctx *c, const cpu_winograd *P, wg_mm *m, int kind, size_t T)
{
    dnnl_memory_desc_t a, b, d;
    size_t Cp = P->Cp, Kp = P->Kp, sv = wg_plane(T, Cp), sm = wg_plane(T, Kp), su = Cp * Kp;
    int rc = kind == MM_FWD ? mat_md(&a, T, Cp, sv, 0) || mat_md(&b, Cp, Kp, su, 0) || mat_md(&d, T, Kp, sm, 0)
           : kind == MM_BWD_DATA ? mat_md(&a, T, Kp, sm, 0) || mat_md(&b, Kp, Cp, su, 1) || mat_md(&d, T, Cp, sv, 0)
                                 : mat_md(&a, Cp, T, sv, 1) || mat_md(&b, T, Kp, sm, 0) || mat_md(&d, Cp, Kp, su, 0);
    if (rc) return C_ERR;
    dnnl_matmul_desc_t md;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t po = NULL;
    dnnl_primitive_desc_t pd = NULL;
    rc = C_ERR;
    DNNL_TRY(dnnl_matmul_desc_init(&md, &a, &b, NULL, &d));
    DNNL_TRY(dnnl_primitive_attr_create(&attr));
    DNNL_TRY(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user));
    if (kind == MM_BWD_WEIGHTS) {
        DNNL_TRY(dnnl_post_ops_create(&po));
        DNNL_TRY(dnnl_post_ops_append_sum(po, 1.0f));
        DNNL_TRY(dnnl_primitive_attr_set_post_ops(attr, po));
    }
    DNNL_TRY(dnnl_primitive_desc_create(&pd, &md, attr, c->engine, NULL));
    if (cpu_mem_make(c, &m->a, &a) || cpu_mem_make(c, &m->b, &b) || cpu_mem_make(c, &m->d, &d)) goto fail;
    rc = cpu_prim_make(c, pd, &m->p, &m->scr);
    pd = NULL;   /* cpu_prim_make destroyed it */
fail:
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (attr) dnnl_primitive_attr_destroy(attr);
    if (po) dnnl_post_ops_destroy(po);
    return rc;
}

static int mm_run(cpu_ctx *c, wg_mm *m, const float *a, const float *b, float *d)
{
    dnnl_memory_set_data_handle(m->a, (void *)a);
    dnnl_memory_set_data_handle(m->b, (void *)b);
    dnnl_memory_set_data_handle(m->d, d);
    dnnl_memory_set_data_handle(m->scr, c->scratch);
    dnnl_exec_arg_t args[4] = { { DNNL_ARG_SRC, m->a }, { DNNL_ARG_WEIGHTS, m->b }, { DNNL_ARG_DST, m->d },
                                { DNNL_ARG_SCRATCHPAD, m->scr } };
    if (cpu_dnnl_check(dnnl_primitive_execute(m->p, c->stream, 4, args), "matmul execute")) return C_ERR;
    return cpu_dnnl_check(dnnl_stream_wait(c->stream), "dnnl_stream_wait");
}

cpu_winograd_inst *cpu_winograd_inst_make(cpu_ctx *c, cpu_winograd *P, int n)
{
    cpu_winograd_inst *I = calloc(1, sizeof *I);
    if (!I) {
        err_msg("conv2d", "out of memory");
        return NULL;
    }
    size_t per_image = WG_TILES * (size_t)P->tpi * (P->Cp + P->Kp) * sizeof(float);
    int chunk = (int)(P->chunk_bytes / per_image);
    if (chunk < 1) chunk = 1;
    if (chunk > n) chunk = n;
    int nchunks = (n + chunk - 1) / chunk;
    chunk = (n + nchunks - 1) / nchunks;   /* as even as whole images allow */
    int last = n - (nchunks - 1) * chunk;
    I->n = n;
    I->chunk = chunk;
    size_t T = (size_t)chunk * P->tpi;
    I->ws_bytes = WG_TILES * (wg_plane(T, P->Cp) + wg_plane(T, P->Kp)) * sizeof(float);
    if (!P->forward_only) I->ws_bytes += WG_TILES * P->Cp * P->Kp * sizeof(float);
    for (int s = 0; s < (last < chunk ? 2 : 1); s++) {
        size_t Ts = (size_t)(s ? last : chunk) * P->tpi;
        for (int k = 0; k < (P->forward_only ? 1 : MM_KINDS); k++)
            if (mm_make(c, P, &I->mm[s][k], k, Ts)) {
                cpu_winograd_inst_free(I);
                return NULL;
            }
    }
    if (!cpu_tmp(c, I->ws_bytes)) {
        cpu_winograd_inst_free(I);
        return NULL;
    }
    return I;
}

/* U from w (oihw), remembered as w's */
static void weights_transform(cpu_winograd *P, const float *w)
{
    int isa = P->isa;
    float *u = P->u;
    CPU_SPLIT_RUN((size_t)P->C * P->KB, lo, hi, WG_CALL(isa, weights_tf, P, w, u, lo, hi));
    P->u_of = w;
}

int cpu_winograd_fwd(cpu_ctx *c, cpu_winograd *P, cpu_winograd_inst *I, const float *x, const float *w,
                     const float *b, float *y)
{
    float *v = cpu_tmp(c, I->ws_bytes);
    if (!v) return C_ERR;
    float *m = v + WG_TILES * wg_plane((size_t)I->chunk * P->tpi, P->Cp);
    const float *bias = NULL;
    if (P->bias) {
        memcpy(P->bias_pad, b, (size_t)P->K * sizeof *b);
        bias = P->bias_pad;
    }
    weights_transform(P, w);
    int isa = P->isa;
    for (int n0 = 0; n0 < I->n; n0 += I->chunk) {
        int nc = I->n - n0 < I->chunk ? I->n - n0 : I->chunk;
        size_t T = (size_t)nc * P->tpi;
        CPU_SPLIT_RUN(T * P->CB, lo, hi, WG_CALL(isa, input_tf, P, x, v, n0, T, lo, hi));
        if (mm_run(c, &I->mm[nc < I->chunk][MM_FWD], v, P->u, m)) return C_ERR;
        CPU_SPLIT_RUN(T * P->KB, lo, hi, WG_CALL(isa, output_tf, P, m, bias, y, n0, T, lo, hi));
    }
    return C_OK;
}

/* db[k] = the sum of g over the batch and the map, per block of channels in a fixed order */
static void bias_grad(const cpu_winograd *P, int n, const float *g, float *db)
{
    const int B = P->B;
    const size_t hw = (size_t)P->oh * P->ow;
    #pragma omp parallel for schedule(static)
    for (int kb = 0; kb < P->KB; kb++) {
        double acc[16] = { 0 };
        for (int i = 0; i < n; i++) {
            const float *gp = g + ((size_t)i * P->KB + kb) * hw * B;
            for (size_t q = 0; q < hw; q++)
                for (int l = 0; l < B; l++) acc[l] += gp[q * B + l];
        }
        for (int l = 0; l < B && kb * B + l < P->K; l++) db[kb * B + l] = (float)acc[l];
    }
}

int cpu_winograd_bwd(cpu_ctx *c, cpu_winograd *P, cpu_winograd_inst *I, const float *x, const float *w,
                     const float *g, float *dx, float *dw, float *db)
{
    float *v = cpu_tmp(c, I->ws_bytes);
    if (!v) return C_ERR;
    size_t Tmax = (size_t)I->chunk * P->tpi;
    float *m = v + WG_TILES * wg_plane(Tmax, P->Cp), *du = m + WG_TILES * wg_plane(Tmax, P->Kp);
    if (dx && P->u_of != w) weights_transform(P, w);   /* normally the forward's U */
    memset(du, 0, WG_TILES * P->Cp * P->Kp * sizeof *du);
    int isa = P->isa;
    for (int n0 = 0; n0 < I->n; n0 += I->chunk) {
        int nc = I->n - n0 < I->chunk ? I->n - n0 : I->chunk;
        size_t T = (size_t)nc * P->tpi;
        wg_mm *mm = I->mm[nc < I->chunk];
        CPU_SPLIT_RUN(T * P->KB, lo, hi, WG_CALL(isa, grad_out_tf, P, g, m, n0, T, lo, hi));
        CPU_SPLIT_RUN(T * P->CB, lo, hi, WG_CALL(isa, input_tf, P, x, v, n0, T, lo, hi));
        if (mm_run(c, &mm[MM_BWD_WEIGHTS], v, m, du)) return C_ERR;
        if (!dx) continue;
        if (mm_run(c, &mm[MM_BWD_DATA], m, P->u, v)) return C_ERR;   /* dV over V */
        CPU_SPLIT_RUN((size_t)nc * P->CB, lo, hi, WG_CALL(isa, grad_in_tf, P, v, dx, n0, T, lo, hi));
    }
    CPU_SPLIT_RUN((size_t)P->C * P->KB, lo, hi, WG_CALL(isa, weights_grad_tf, P, du, dw, lo, hi));
    if (db) bias_grad(P, I->n, g, db);
    return C_OK;
}

#endif
