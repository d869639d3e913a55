/* test.h: the unit-test protocol shared by every test program.
 *
 * A test program runs named cases with TEST_RUN; each prints one line `PASS: name`,
 * `FAIL: name: file:line: condition` or `SKIP: name: reason`, and the program exits nonzero
 * when any case failed. tests/run adds the lines up. Include it in exactly one file per program. */
#ifndef TEST_H
#define TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_failed_cases, test_case_failed, test_case_skipped;
static char test_skip_reason[256];

#define CHECK(cond) do { \
        if (!(cond)) { \
            if (!test_case_failed) printf("FAIL: %s: %s:%d: %s\n", test_current, __FILE__, __LINE__, #cond); \
            test_case_failed = 1; \
        } \
    } while (0)

/* |a-b| <= tol * max(1, |b|): relative for large values, absolute near zero. */
#define CHECK_NEAR(a, b, tol) do { \
        double a_ = (a), b_ = (b); \
        if (!(fabs(a_ - b_) <= (tol) * fmax(1.0, fabs(b_)))) { \
            if (!test_case_failed) printf("FAIL: %s: %s:%d: %s = %.9g, expected %s = %.9g (tol %g)\n", \
                   test_current, __FILE__, __LINE__, #a, a_, #b, b_, (double)(tol)); \
            test_case_failed = 1; \
        } \
    } while (0)

#define SKIP(...) do { snprintf(test_skip_reason, sizeof test_skip_reason, __VA_ARGS__); \
        test_case_skipped = 1; return; } while (0)

static const char *test_current = "";

static inline void test_run_case(const char *name, void (*fn)(void))
{
    test_current = name;
    test_case_failed = test_case_skipped = 0;
    fn();
    fflush(stderr);
    if (test_case_failed) test_failed_cases++;
    else if (test_case_skipped) printf("SKIP: %s: %s\n", name, test_skip_reason);
    else printf("PASS: %s\n", name);
    fflush(stdout);
}

#define TEST_RUN(fn) test_run_case(#fn, fn)
#define TEST_EXIT() return test_failed_cases ? 1 : 0

#endif
