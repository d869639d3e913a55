/* test_backend_ops: every op case of tests/ops/<op>.c, on the CPU against the op's reference and
 * on CUDA against the CPU (see harness.h). Exits nonzero when a case failed. */
#include "ops/harness.h"

#include <stdio.h>
#include "core/errors.h"

extern const ops_suite ops_suite_conv2d, ops_suite_linear, ops_suite_relu, ops_suite_maxpool, ops_suite_flatten,
    ops_suite_dropout, ops_suite_bnlayer, ops_suite_accumulate, ops_suite_logsoftmax, ops_suite_sgd,
    ops_suite_augment_batch, ops_suite_gelu, ops_suite_batchnorm, ops_suite_scale;

int main(int argc, char **argv)
{
    (void)argc;
    err_init(argv[0]);
    const ops_suite *const suites[] = {
        &ops_suite_conv2d, &ops_suite_linear, &ops_suite_relu, &ops_suite_maxpool, &ops_suite_flatten,
        &ops_suite_dropout, &ops_suite_bnlayer, &ops_suite_accumulate, &ops_suite_logsoftmax, &ops_suite_sgd,
        &ops_suite_augment_batch, &ops_suite_gelu, &ops_suite_batchnorm, &ops_suite_scale,
    };
    int failed = ops_run_all(suites, (int)(sizeof suites / sizeof suites[0]));
    printf("    %d failed case(s)\n", failed);
    return failed ? 1 : 0;
}
