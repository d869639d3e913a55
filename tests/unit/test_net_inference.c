/* Nets built for inference (net_load_inference: evaluate, TTA, benchmarks): for every model file,
 * the eval-mode forward gives the same bytes as the training net's after the same tensors are
 * loaded into both, on the CPU and, where a GPU is visible, on CUDA; training calls on an
 * inference net are refused; it holds fewer backend bytes than the training net. */
#include <glob.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include "backend/select.h"
#include "core/errors.h"
#include "core/rng.h"
#include "nn/net.h"
#include "test.h"
#include "backend/cuda_init.h"

enum { BATCH = 8 };

static backend cpu;
static backend gpu;
static int gpu_state;          /* backend_cuda_start_if_visible: 1 started, 0 no GPU, -1 broken */
static char gpu_why[1280];

static float *random_floats(size_t n, uint64_t seed)
{
    rng_stream rs;
    rng_stream_init(&rs, seed, RNG_TEST, 7);
    float *h = xmalloc(n * sizeof *h);
    for (size_t i = 0; i < n; i++) h[i] = 2 * rng_next_float(&rs) - 1;
    return h;
}

/* One model on one backend: train a step (so the BnLayer statistics move), copy every tensor
 * into an inference net, compare the eval-mode outputs byte for byte. */
static void same_eval_output(backend *be, const char *path)
{
    net *tn = NULL, *in = NULL;
    CHECK(net_load(&tn, path, be, BATCH) == C_OK);
    CHECK(net_load_inference(&in, path, be, BATCH) == C_OK);
    if (!tn || !in) { net_free(tn); net_free(in); return; }
    const model_desc *m = net_model(tn);
    size_t nin = (size_t)BATCH * m->input[0] * m->input[1] * m->input[2];
    float *x = random_floats(nin, 11);
    uint8_t lab[BATCH];
    for (int i = 0; i < BATCH; i++) lab[i] = (uint8_t)(i % m->classes);
    float loss;
    CHECK(net_init_params(tn, 5) == C_OK);
    CHECK(net_forward(tn, x, BATCH, 1, 1, 1) == C_OK);
    CHECK(net_loss_backward(tn, lab, BATCH, &loss) == C_OK);
    CHECK(net_sgd_step(tn, 0.1f, 0.9f, 1e-4f) == C_OK);
    CHECK(net_forward(tn, x, BATCH, 1, 1, 2) == C_OK);   /* statistics of the moved weights */
    CHECK(net_n_tensors(in) == net_n_tensors(tn));
    for (int t = 0; t < net_n_tensors(tn); t++) {
        float *h = xmalloc(net_tensor_numel(tn, t) * sizeof *h);
        CHECK(net_tensor_get(tn, t, h) == C_OK);
        CHECK(net_tensor_set(in, t, h) == C_OK);
        free(h);
    }
    size_t no = (size_t)BATCH * m->classes;
    float *a = xmalloc(no * sizeof *a), *b = xmalloc(no * sizeof *b);
    CHECK(net_forward(tn, x, BATCH, 0, 0, 0) == C_OK && net_output(tn, a) == C_OK);
    CHECK(net_forward(in, x, BATCH, 0, 0, 0) == C_OK && net_output(in, b) == C_OK);
    CHECK(memcmp(a, b, no * sizeof *a) == 0);
    CHECK(net_forward(in, x, BATCH / 2, 0, 0, 0) == C_OK);   /* a smaller batch: a second plan */
    free(a); free(b); free(x);
    net_free(tn);
    net_free(in);
}

static glob_t models;

static void cpu_eval_equals_training_net(void)
{
    CHECK(models.gl_pathc >= 7);
    for (size_t i = 0; i < models.gl_pathc; i++) same_eval_output(&cpu, models.gl_pathv[i]);
}

/* A visible GPU whose backend does not start fails here; only a machine without one skips. */
static void cuda_eval_equals_training_net(void)
{
    if (gpu_state < 0) {
        printf("FAIL: %s: %s\n", test_current, gpu_why);
        test_case_failed = 1;
        return;
    }
    if (!gpu_state) SKIP("%.200s", gpu_why);
    for (size_t i = 0; i < models.gl_pathc; i++) same_eval_output(&gpu, models.gl_pathv[i]);
}

static void training_calls_are_refused(void)
{
    net *in = NULL;
    CHECK(net_load_inference(&in, "models/resnet2.json", &cpu, BATCH) == C_OK);
    if (!in) return;
    float *x = random_floats((size_t)BATCH * 3 * 32 * 32, 3), loss, h[16];
    uint8_t lab[BATCH] = { 0 };
    fprintf(stderr, "(five error lines expected:)\n");
    CHECK(net_forward(in, x, BATCH, 1, 1, 1) == C_ERR);
    CHECK(net_forward(in, x, BATCH, 0, 0, 0) == C_OK);
    CHECK(net_loss_backward(in, lab, BATCH, &loss) == C_ERR);   /* after an eval forward anyway */
    CHECK(net_sgd_step(in, 0.1f, 0.9f, 0) == C_ERR);
    CHECK(net_train_step(in, x, lab, BATCH, 1, 1, 0.1f, 0.9f, 0) < 0);
    int t = net_tensor_find(in, "out.bias");
    CHECK(t >= 0);
    CHECK(net_momentum_get(in, t, h) == C_ERR);
    CHECK(net_grad_get(in, t, h) == C_OK && h[0] == 0.0f);       /* no gradient: zeros, as for statistics */
    free(x);
    net_free(in);
}

/* Heap bytes in use (glibc's count; 0 under an allocator that does not keep it, e.g. ASan's). */
static size_t heap_bytes(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

/* Heap bytes a CPU net holds once built (tensors, plans, primitives). */
static size_t bytes_of(int inference)
{
    size_t before = heap_bytes();
    net *n = NULL;
    if ((inference ? net_load_inference : net_load)(&n, "models/resnet2.json", &cpu, 256) != C_OK) return 0;
    size_t after = heap_bytes();
    net_free(n);
    return after > before ? after - before : 0;
}

static void inference_net_holds_less(void)
{
    size_t train = bytes_of(0), infer = bytes_of(1);
    if (!train && !infer) SKIP("the allocator does not report heap use (a sanitizer build)");
    printf("    resnet2 at batch 256: training net %.1f MiB, inference net %.1f MiB\n", train / 1048576.0,
           infer / 1048576.0);
    CHECK(train > 0 && infer > 0);
    CHECK(infer * 2 < train);   /* no output gradients, no BnLayer conv gradient, no parameter gradients */
}

int main(int argc, char **argv)
{
    (void)argc;
    err_init(argv[0]);
    if (backend_cpu_init(&cpu, 0)) return 1;
    if (glob("models/*.json", 0, NULL, &models) != 0) return 1;
    gpu_state = backend_cuda_start_if_visible(&gpu, 0, 0, gpu_why, sizeof gpu_why);
    TEST_RUN(cpu_eval_equals_training_net);
    TEST_RUN(cuda_eval_equals_training_net);
    TEST_RUN(training_calls_are_refused);
    TEST_RUN(inference_net_holds_less);
    if (gpu_state > 0) backend_free(&gpu);
    globfree(&models);
    backend_free(&cpu);
    TEST_EXIT();
}
