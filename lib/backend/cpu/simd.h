/* simd.h: write a vector kernel once, get it for AVX-512 (16 lanes) and AVX2 + FMA (8 lanes).
 *
 * An op file defines SIMD_BODY as its own path and includes this header; it then includes
 * SIMD_BODY twice, with SIMD_W 16 and SIMD_W 8, and the op file's `#ifdef SIMD_W` part is its
 * kernels, written with the names below. V(fwd) is fwd16 or fwd8, SIMD_FN its target attribute.
 * Every name maps to one intrinsic of the width (or, for masks, one short sequence), so a kernel
 * does per lane the same float operations at both widths: the two give the same bits, and the
 * AVX-512 code is the instruction sequence written by hand before. Masks are __mmask16 at 16
 * lanes and all-ones / all-zero float lanes at 8 (vm). */
#ifndef SIMD_H
#define SIMD_H
#include <immintrin.h>
#include <stdint.h>
#include "backend/cpu/cpu_backend.h"

#define SIMD_CAT_(a, b) a##b
#define SIMD_CAT(a, b) SIMD_CAT_(a, b)
#define SIMD_CAT3_(a, b, c) a##b##c
#define SIMD_CAT3(a, b, c) SIMD_CAT3_(a, b, c)

#define SIMD_BITS_16 512
#define SIMD_BITS_8 256
#define SIMD_FN_16 CPU_AVX512
#define SIMD_FN_8 CPU_AVX2

/* all of these follow SIMD_W where they are used */
#define SIMD_BITS SIMD_CAT(SIMD_BITS_, SIMD_W)
#define SIMD_FN SIMD_CAT(SIMD_FN_, SIMD_W)
#define V(name) SIMD_CAT(name, SIMD_W)
#define SIMD_I(op) SIMD_CAT3(_mm, SIMD_BITS, SIMD_CAT(_, op))   /* the intrinsic _mm512_op or _mm256_op */

#define vf SIMD_CAT(__m, SIMD_BITS)          /* W floats */
#define vd SIMD_CAT3(__m, SIMD_BITS, d)      /* W/2 doubles */
#define vi SIMD_CAT3(__m, SIMD_BITS, i)      /* W int32 */
#define vm V(simd_mask)                     /* a lane mask */

#define vf_load(p) SIMD_I(loadu_ps)(p)
#define vf_store(p, v) SIMD_I(storeu_ps)(p, v)
#define vf_set1(x) SIMD_I(set1_ps)(x)
#define vf_zero() SIMD_I(setzero_ps)()
#define vf_add(a, b) SIMD_I(add_ps)(a, b)
#define vf_sub(a, b) SIMD_I(sub_ps)(a, b)
#define vf_mul(a, b) SIMD_I(mul_ps)(a, b)
#define vf_div(a, b) SIMD_I(div_ps)(a, b)
#define vf_fmadd(a, b, c) SIMD_I(fmadd_ps)(a, b, c)   /* a * b + c, one rounding */
#define vf_max(a, b) SIMD_I(max_ps)(a, b)
#define vf_min(a, b) SIMD_I(min_ps)(a, b)
#define vf_round(a) V(simd_round)(a)                /* to nearest even */
#define vf_cvti(a) SIMD_I(cvtps_epi32)(a)
#define vf_asf(i) SIMD_I(SIMD_CAT3(castsi, SIMD_BITS, _ps))(i)   /* the int lanes' bits as floats */
#define vd_zero() SIMD_I(setzero_pd)()
#define vd_store(p, v) SIMD_I(storeu_pd)(p, v)
#define vi_zero() SIMD_I(SIMD_CAT(setzero_si, SIMD_BITS))()
#define vi_set1(x) SIMD_I(set1_epi32)(x)
#define vi_add(a, b) SIMD_I(add_epi32)(a, b)
#define vi_shl(a, n) SIMD_I(slli_epi32)(a, n)

/* masks: vm_gt(a, b) a > b (ordered), vm_nan(a), vm_or, vm_eqi(a, b) int lanes equal */
#define vm_gt(a, b) V(simd_gt)(a, b)
#define vm_nan(a) V(simd_nan)(a)
#define vm_or(a, b) V(simd_or)(a, b)
#define vm_eqi(a, b) V(simd_eqi)(a, b)
/* m ? b : a per lane (floats, ints); m ? a : 0 */
#define vf_select(m, a, b) V(simd_selectf)(m, a, b)
#define vi_select(m, a, b) V(simd_selecti)(m, a, b)
#define vf_maskz(m, a) V(simd_maskz)(m, a)
/* the first n lanes (n <= W) stored */
#define vf_store_n(p, v, n) V(simd_store_nf)(p, v, n)
#define vi_store_n(p, v, n) V(simd_store_ni)(p, v, n)
/* *d0 += lanes 0..W/2-1 of f in double, *d1 += lanes W/2..W-1 */
#define vd_acc(d0, d1, f) V(simd_acc)(d0, d1, f)

/* One call of kernel fn on path isa (CPU_ISA_*): fn16 (AVX-512), fn8 (AVX2) or fn_gen (plain C),
 * the three with the same parameters. */
#define SIMD_CALL(isa, fn, ...) \
    ((isa) == CPU_ISA_AVX512 ? fn##16(__VA_ARGS__) : (isa) == CPU_ISA_AVX2 ? fn##8(__VA_ARGS__) : fn##_gen(__VA_ARGS__))

/* a kernel's channel block B: the 16-lane kernels run on 16-lane blocks only (cpu_isa_for), so
 * there B is the constant 16 and the stride folds into the addressing */
#define simd_block(B) (SIMD_W == 16 ? 16 : (B))

/* ---- 16 lanes: AVX-512 ---- */
typedef __mmask16 simd_mask16;
CPU_AVX512 static inline __m512 simd_round16(__m512 a)
{
    return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}
CPU_AVX512 static inline __mmask16 simd_gt16(__m512 a, __m512 b) { return _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ); }
CPU_AVX512 static inline __mmask16 simd_nan16(__m512 a) { return _mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q); }
CPU_AVX512 static inline __mmask16 simd_or16(__mmask16 a, __mmask16 b) { return a | b; }
CPU_AVX512 static inline __mmask16 simd_eqi16(__m512i a, __m512i b) { return _mm512_cmpeq_epi32_mask(a, b); }
CPU_AVX512 static inline __m512 simd_selectf16(__mmask16 m, __m512 a, __m512 b) { return _mm512_mask_mov_ps(a, m, b); }
CPU_AVX512 static inline __m512i simd_selecti16(__mmask16 m, __m512i a, __m512i b)
{
    return _mm512_mask_mov_epi32(a, m, b);
}
CPU_AVX512 static inline __m512 simd_maskz16(__mmask16 m, __m512 a) { return _mm512_maskz_mov_ps(m, a); }
CPU_AVX512 static inline void simd_store_nf16(float *p, __m512 v, int n)
{
    _mm512_mask_storeu_ps(p, (__mmask16)((1u << n) - 1), v);
}
CPU_AVX512 static inline void simd_store_ni16(int32_t *p, __m512i v, int n)
{
    _mm512_mask_storeu_epi32(p, (__mmask16)((1u << n) - 1), v);
}
CPU_AVX512 static inline void simd_acc16(__m512d *d0, __m512d *d1, __m512 f)
{
    *d0 = _mm512_add_pd(*d0, _mm512_cvtps_pd(_mm512_castps512_ps256(f)));
    *d1 = _mm512_add_pd(*d1, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(f), 1))));
}

/* ---- 8 lanes: AVX2 + FMA ---- */
typedef __m256 simd_mask8;
CPU_AVX2 static inline __m256 simd_round8(__m256 a)
{
    return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}
CPU_AVX2 static inline __m256 simd_gt8(__m256 a, __m256 b) { return _mm256_cmp_ps(a, b, _CMP_GT_OQ); }
CPU_AVX2 static inline __m256 simd_nan8(__m256 a) { return _mm256_cmp_ps(a, a, _CMP_UNORD_Q); }
CPU_AVX2 static inline __m256 simd_or8(__m256 a, __m256 b) { return _mm256_or_ps(a, b); }
CPU_AVX2 static inline __m256 simd_eqi8(__m256i a, __m256i b) { return _mm256_castsi256_ps(_mm256_cmpeq_epi32(a, b)); }
CPU_AVX2 static inline __m256 simd_selectf8(__m256 m, __m256 a, __m256 b) { return _mm256_blendv_ps(a, b, m); }
CPU_AVX2 static inline __m256i simd_selecti8(__m256 m, __m256i a, __m256i b)
{
    return _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(a), _mm256_castsi256_ps(b), m));
}
CPU_AVX2 static inline __m256 simd_maskz8(__m256 m, __m256 a) { return _mm256_and_ps(m, a); }
CPU_AVX2 static inline void simd_store_nf8(float *p, __m256 v, int n)
{
    float b[8];
    _mm256_storeu_ps(b, v);
    for (int l = 0; l < n; l++) p[l] = b[l];
}
CPU_AVX2 static inline void simd_store_ni8(int32_t *p, __m256i v, int n)
{
    int32_t b[8];
    _mm256_storeu_si256((__m256i *)b, v);
    for (int l = 0; l < n; l++) p[l] = b[l];
}
CPU_AVX2 static inline void simd_acc8(__m256d *d0, __m256d *d1, __m256 f)
{
    *d0 = _mm256_add_pd(*d0, _mm256_cvtps_pd(_mm256_castps256_ps128(f)));
    *d1 = _mm256_add_pd(*d1, _mm256_cvtps_pd(_mm256_extractf128_ps(f, 1)));
}
#endif

/* the op file's kernels, once per width */
#ifdef SIMD_BODY
#define SIMD_W 16
#include SIMD_BODY
#undef SIMD_W
#define SIMD_W 8
#include SIMD_BODY
#undef SIMD_W
#undef SIMD_BODY
#endif
