/* test_backend_errors: the backend's error policy on the CPU: a failure returns C_ERR after one
 * line and leaves the process (and the backend) usable; nothing exits. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "backend/backend.h"
#include "core/errors.h"
#include "test.h"
#include "test_stderr.h"

static backend be;

static void alloc_out_of_memory_returns_error(void)
{
    tensor t;
    int shape[4] = { 1 << 20, 1 << 20, 1 << 10, 1 };   /* 4 PiB of floats */
    char err[512];
    stderr_capture_begin();
    int rc = be.iface->alloc(be.ctx, &t, DT_F32, 4, shape, TL_PLAIN);
    stderr_capture_end(err, sizeof err);
    CHECK(rc == C_ERR);
    CHECK(count_lines(err) == 1 && strstr(err, "out of memory"));
    /* and the backend still works */
    int small[1] = { 8 };
    CHECK(be.iface->alloc(be.ctx, &t, DT_F32, 1, small, TL_PLAIN) == C_OK);
    be.iface->free_tensor(be.ctx, &t);
}

static void conv_batch_outside_plan_returns_error(void)
{
    conv2d_desc d = { .max_n = 10, .ic = 3, .ih = 5, .iw = 5, .oc = 4, .kh = 3, .kw = 3, .stride = 1, .pad = 1,
                      .need_dx = 1, .src_layout = TL_PLAIN, .algo = CONV2D_ALGO_AUTO };
    conv2d_plan *p = be.iface->conv2d_plan_make(be.ctx, &d);
    CHECK(p != NULL);
    if (!p) return;
    tensor x, w, y;
    int xs[4] = { 11, 3, 5, 5 }, ws[4] = { 4, 3, 3, 3 }, ys[4] = { 11, 4, 5, 5 };
    CHECK(be.iface->alloc(be.ctx, &x, DT_F32, 4, xs, TL_PLAIN) == C_OK);
    CHECK(be.iface->alloc(be.ctx, &w, DT_F32, 4, ws, TL_PLAIN) == C_OK);
    CHECK(be.iface->alloc(be.ctx, &y, DT_F32, 4, ys, TL_ACT) == C_OK);
    char err[512];
    stderr_capture_begin();
    int rc = be.iface->conv2d_fwd(be.ctx, p, &x, &w, NULL, &y);   /* batch 11 > max_n 10 */
    stderr_capture_end(err, sizeof err);
    CHECK(rc == C_ERR);
    CHECK(count_lines(err) == 1 && strstr(err, "batch 11 outside 1..10"));
    /* every batch up to max_n works, more distinct sizes than the plan cache holds included */
    for (int k = 0; k < 12; k++) {
        x.shape[0] = y.shape[0] = 1 + k % 10;
        CHECK(be.iface->conv2d_fwd(be.ctx, p, &x, &w, NULL, &y) == C_OK);
    }
    be.iface->free_tensor(be.ctx, &x);
    be.iface->free_tensor(be.ctx, &w);
    be.iface->free_tensor(be.ctx, &y);
    be.iface->conv2d_plan_free(be.ctx, p);
}

static void invalid_conv_description_returns_null(void)
{
    conv2d_desc d = { .max_n = 0, .ic = 3, .ih = 5, .iw = 5, .oc = 4, .kh = 3, .kw = 3, .stride = 1 };
    char err[512];
    stderr_capture_begin();
    conv2d_plan *p = be.iface->conv2d_plan_make(be.ctx, &d);
    stderr_capture_end(err, sizeof err);
    CHECK(p == NULL);
    CHECK(count_lines(err) == 1 && strstr(err, "invalid description"));
}

/* CIFAR_WINOGRAD: an unknown value stops the backend with one line naming the variable */
static void winograd_unknown_value_is_one_line(void)
{
    backend b = { 0 };
    char err[512];
    setenv("CIFAR_WINOGRAD", "sometimes", 1);
    stderr_capture_begin();
    int rc = backend_cpu_init(&b, 1);
    stderr_capture_end(err, sizeof err);
    unsetenv("CIFAR_WINOGRAD");
    CHECK(rc == C_ERR);
    CHECK(count_lines(err) == 1 && strstr(err, "CIFAR_WINOGRAD") && strstr(err, "sometimes"));
    if (rc == C_OK) backend_free(&b);
}

/* The trace line of one 3x3 stride-1 plan on blocked input under CIFAR_WINOGRAD=mode, checked to
 * contain `want`; the plan runs a forward. */
static void trace_says(const char *mode, int k, const char *want)
{
    backend b = { 0 };
    setenv("CIFAR_WINOGRAD", mode, 1);
    setenv("CIFAR_CONV_TRACE", "1", 1);
    int rc = backend_cpu_init(&b, 1);
    unsetenv("CIFAR_WINOGRAD");
    unsetenv("CIFAR_CONV_TRACE");
    CHECK(rc == C_OK);
    if (rc != C_OK) return;
    conv2d_desc d = { .max_n = 2, .ic = 8, .ih = 9, .iw = 9, .oc = 8, .kh = k, .kw = k, .stride = 1, .pad = 1,
                      .need_dx = 1, .src_layout = TL_ACT, .algo = CONV2D_ALGO_AUTO };
    char err[512];
    stderr_capture_begin();
    conv2d_plan *p = b.iface->conv2d_plan_make(b.ctx, &d);
    stderr_capture_end(err, sizeof err);
    CHECK(p != NULL);
    CHECK(count_lines(err) == 1 && strstr(err, "conv2d: n2 8x9x9 -> ") && strstr(err, want));
    if (!strstr(err, want)) fprintf(stderr, "    trace: %s", err);
    tensor x, w, y;
    int xs[4] = { 2, 8, 9, 9 }, ws[4] = { 8, 8, k, k }, ys[4] = { 2, 8, 12 - k, 12 - k };
    CHECK(b.iface->alloc(b.ctx, &x, DT_F32, 4, xs, TL_ACT) == C_OK);
    CHECK(b.iface->alloc(b.ctx, &w, DT_F32, 4, ws, TL_PLAIN) == C_OK);
    CHECK(b.iface->alloc(b.ctx, &y, DT_F32, 4, ys, TL_ACT) == C_OK);
    if (p) CHECK(b.iface->conv2d_fwd(b.ctx, p, &x, &w, NULL, &y) == C_OK);
    b.iface->free_tensor(b.ctx, &x);
    b.iface->free_tensor(b.ctx, &w);
    b.iface->free_tensor(b.ctx, &y);
    b.iface->conv2d_plan_free(b.ctx, p);
    backend_free(&b);
}

static void winograd_choice_is_traced(void)
{
    trace_says("on", 3, ": winograd (CIFAR_WINOGRAD=on)");
    trace_says("off", 3, ": onednn (CIFAR_WINOGRAD=off)");
    trace_says("auto", 3, "(auto: winograd ");   /* both candidates timed, either may win */
    trace_says("on", 5, ": onednn (winograd does not apply)");
}

int main(int argc, char **argv)
{
    (void)argc;
    err_init(argv[0]);
    if (backend_cpu_init(&be, 1)) return 1;
    TEST_RUN(alloc_out_of_memory_returns_error);
    TEST_RUN(conv_batch_outside_plan_returns_error);
    TEST_RUN(invalid_conv_description_returns_null);
    TEST_RUN(winograd_unknown_value_is_one_line);
    TEST_RUN(winograd_choice_is_traced);
    backend_free(&be);
    TEST_EXIT();
}
