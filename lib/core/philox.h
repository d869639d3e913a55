/* philox.h: Philox4x32-10, the project's one implementation, header-only so that host C code
 * and CUDA kernels share it.
 *
 * core/rng.c's rng_block and rng_u32_to_float are these functions (counter layout
 * { b, a, purpose, "CIFA" } under the key { seed lo, seed hi }), so a CUDA kernel draws the same
 * dropout masks and augmentation choices as the CPU. tests/unit/test_rng.c holds the Random123
 * known-answer vectors. */
#ifndef PHILOX_H
#define PHILOX_H

#include <stdint.h>

#ifdef __CUDACC__
#define PHILOX_HD __host__ __device__ __forceinline__
#else
#define PHILOX_HD static inline
#endif

#define PHILOX_CTR3 0x43494641u  /* "CIFA": the fourth counter word of every rng_block */

/* Philox4x32 with 10 rounds: out = Philox(ctr under key). */
PHILOX_HD void philox4x32_10(const uint32_t ctr[4], uint32_t k0, uint32_t k1, uint32_t out[4])
{
    uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
    for (int round = 0; round < 10; round++) {
        uint64_t p0 = (uint64_t)0xD2511F53u * c0, p1 = (uint64_t)0xCD9E8D57u * c2;
        uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0;
        uint32_t hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
        c0 = hi1 ^ c1 ^ k0;
        c1 = lo1;
        c2 = hi0 ^ c3 ^ k1;
        c3 = lo0;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

/* rng_block(seed, purpose, a, b, out) of rng.h. */
PHILOX_HD void philox_block(uint64_t seed, uint32_t purpose, uint32_t a, uint32_t b, uint32_t out[4])
{
    const uint32_t ctr[4] = { b, a, purpose, PHILOX_CTR3 };
    philox4x32_10(ctr, (uint32_t)seed, (uint32_t)(seed >> 32), out);
}

/* rng_u32_to_float of rng.h: 24-bit uniform in [0,1). */
PHILOX_HD float philox_to_float(uint32_t x) { return (float)(x >> 8) * (1.0f / 16777216.0f); }

#endif
