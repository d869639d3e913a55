/* Counter-based generator: known-answer vector, purity, uniformity, permutations. */
#include "core/rng.h"
#include "test.h"

static void philox_known_answer(void)
{
    /* Random123 kat_vectors: philox4x32_10, counter and key all ones bits. */
    const uint32_t ctr[4] = { 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff };
    const uint32_t key[2] = { 0xffffffff, 0xffffffff };
    uint32_t out[4];
    philox4x32(ctr, key, out);
    CHECK(out[0] == 0x408f276du && out[1] == 0x41c83b0eu && out[2] == 0xa20bc7c6u && out[3] == 0x6d5451fdu);
    const uint32_t zero_ctr[4] = { 0 }, zero_key[2] = { 0 };
    philox4x32(zero_ctr, zero_key, out);
    CHECK(out[0] == 0x6627e8d5u && out[1] == 0xe169c58du && out[2] == 0xbc57ac4cu && out[3] == 0x9b00dbd8u);
}

static void blocks_are_pure_and_distinct(void)
{
    uint32_t a[4], b[4], c[4];
    rng_block(42, RNG_AUGMENT, 3, 7, a);
    rng_block(42, RNG_AUGMENT, 3, 7, b);
    rng_block(42, RNG_DROPOUT, 3, 7, c);
    CHECK(!memcmp(a, b, sizeof a));
    CHECK(memcmp(a, c, sizeof a) != 0);
}

static void floats_are_uniform(void)
{
    rng_stream s;
    rng_stream_init(&s, 1, RNG_TEST, 0);
    int bins[10] = { 0 };
    const int n = 100000;
    for (int i = 0; i < n; i++) {
        float u = rng_next_float(&s);
        CHECK(u >= 0.0f && u < 1.0f);
        bins[(int)(u * 10)]++;
    }
    double chi2 = 0;
    for (int i = 0; i < 10; i++) chi2 += (bins[i] - n / 10.0) * (bins[i] - n / 10.0) / (n / 10.0);
    CHECK(chi2 < 27.88); /* p = 0.001 for 9 degrees of freedom */
}

static void permutation_is_a_permutation(void)
{
    rng_stream s;
    rng_stream_init(&s, 5, RNG_SHUFFLE, 1);
    uint32_t perm[1000];
    int seen[1000] = { 0 };
    rng_permutation(&s, perm, 1000);
    int moved = 0;
    for (int i = 0; i < 1000; i++) { seen[perm[i]]++; moved += perm[i] != (uint32_t)i; }
    for (int i = 0; i < 1000; i++) CHECK(seen[i] == 1);
    CHECK(moved > 900);
}

int main(void)
{
    TEST_RUN(philox_known_answer);
    TEST_RUN(blocks_are_pure_and_distinct);
    TEST_RUN(floats_are_uniform);
    TEST_RUN(permutation_is_a_permutation);
    TEST_EXIT();
}
