/* test_backend_ops: every op case of tests/ops/<op>.c, on the CPU against the op's reference and
 * on CUDA against the CPU (see harness.h). OPS_ONLY=<op> runs that op's cases alone (new_op.sh).
 * Exits nonzero when a case failed. */
#include "ops/harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/errors.h"

/* every op of backend/ops_list.h has its suite (OPS_SUITE in tests/ops/<op>.c) */
#define OP_NAME(op) extern const ops_suite ops_suite_##op;
#define OP_ENTRY(ret, name, params)
#define OP_DEVICE_ENTRY(ret, name, params)
#include "backend/ops_list.h"

int main(int argc, char **argv)
{
    (void)argc;
    err_init(argv[0]);
    const ops_suite *const suites[] = {
#define OP_NAME(op) &ops_suite_##op,
#define OP_ENTRY(ret, name, params)
#define OP_DEVICE_ENTRY(ret, name, params)
#include "backend/ops_list.h"
    };
    const ops_suite *run[sizeof suites / sizeof suites[0]];
    const char *only = getenv("OPS_ONLY");
    int n = 0;
    for (size_t i = 0; i < sizeof suites / sizeof suites[0]; i++)
        if (!only || !*only || !strcmp(only, suites[i]->op)) run[n++] = suites[i];
    if (!n) {
        printf("FAIL: ops: OPS_ONLY=%s names no op\n", only);
        return 1;
    }
    int failed = ops_run_all(run, n);
    printf("    %d failed case(s)\n", failed);
    return failed ? 1 : 0;
}
