/* Threads: a CPU backend made for T threads runs a training step and an evaluation of resnet2 with
 * at most T compute threads in the whole process (OpenMP, which our kernels and Debian's oneDNN
 * share, is the only pool: nothing else spawns workers, so nothing is oversubscribed). Threads the
 * process had before any backend existed (a sanitizer's own, under SAN=1) are not counted. */
#include <glob.h>
#include <stdlib.h>
#include "backend/cpu/cpu_backend.h"
#include "core/errors.h"
#include "core/rng.h"
#include "nn/net.h"
#include "test.h"

static int before;   /* threads at the start of main */

static int task_count(void)
{
    glob_t g = { 0 };
    int n = glob("/proc/self/task/*", GLOB_NOSORT, NULL, &g) == 0 ? (int)g.gl_pathc : -1;
    globfree(&g);
    return n;
}

/* The most threads the process had while a net trained a step and evaluated a batch on T threads. */
static int threads_used(int T)
{
    backend be;
    if (backend_cpu_init(&be, T)) return -1;
    net *n = NULL;
    int most = -1;
    if (net_load(&n, "models/resnet2.json", &be, 64) == C_OK && net_init_params(n, 1) == C_OK) {
        float *x = xmalloc(64 * 3 * 32 * 32 * sizeof *x);
        uint8_t lab[64] = { 0 };
        rng_stream rs;
        rng_stream_init(&rs, 1, RNG_TEST, 3);
        for (int i = 0; i < 64 * 3 * 32 * 32; i++) x[i] = rng_next_float(&rs);
        float loss;
        long t = net_train_step(n, x, lab, 64, 1, 1, 0.01f, 0.9f, 0);
        if (t >= 0 && net_loss_result(n, t, &loss) == C_OK) most = task_count();
        if (net_forward(n, x, 64, 0, 0, 0) == C_OK && task_count() > most) most = task_count();
        free(x);
    }
    net_free(n);
    backend_free(&be);
    return most - before + 1;   /* the main thread is one of the OpenMP team */
}

static void one_thread_means_one(void)
{
    int used = threads_used(1);
    printf("    THREADS=1: %d compute thread(s) (%d before the backend)\n", used, before);
    CHECK(used == 1);
}

static void two_threads_at_most_two(void)
{
    int used = threads_used(2);
    printf("    THREADS=2: %d compute thread(s) (%d before the backend)\n", used, before);
    CHECK(used >= 1 && used <= 2);
}

int main(int argc, char **argv)
{
    (void)argc;
    err_init(argv[0]);
    before = task_count();
    TEST_RUN(one_thread_means_one);
    TEST_RUN(two_threads_at_most_two);
    TEST_EXIT();
}
