/* errors.h: one-line diagnostics `stage: file: what is wrong` on stderr.
 *
 * Policy: library functions (lib/) that can fail print exactly one line with err_msg() and return
 * C_ERR (or NULL / a negative value where the signature says so); callers pass C_ERR up without
 * printing again. Only stages/ (and test or benchmark programs) end the process: their main()s
 * turn C_ERR into exit(1) with err_exit() / CHECK_OK, or report a usage error with err_die().
 * No error path exits with 0. The one exception inside lib/ is running out of memory in the
 * x* allocation helpers below, which print one line and exit(1) (like redis's zmalloc OOM
 * handler): every caller would otherwise need a path for a failure it cannot recover from.
 * tests/cli/error_policy.sh checks that no other lib/ code exits. The stage name is set once by
 * err_init(argv[0]). */
#ifndef ERRORS_H
#define ERRORS_H

#include <stddef.h>

#define C_OK 0
#define C_ERR (-1)

#if defined(__GNUC__)
#define ERR_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define ERR_PRINTF(f, a)
#endif

/* Sets the stage name used as the first field of every message (basename of argv0). */
void err_init(const char *argv0);
const char *err_stage(void);

/* Prints `stage: where: message` (where may be NULL) and returns C_ERR, so callers can write
 * `return err_msg(path, "bad header");`. */
int err_msg(const char *where, const char *fmt, ...) ERR_PRINTF(2, 3);

/* While buf is set, the message of each err_msg/err_warn line (without the stage name) goes into
 * buf[cap] instead of stderr, the last one winning: for a caller that reports a failure its own
 * way (e.g. "cannot resume from X: <reason>; starting over"). err_capture(NULL, 0) prints again. */
void err_capture(char *buf, size_t cap);

/* Prints a warning line `stage: where: warning: message`; returns nothing. */
void err_warn(const char *where, const char *fmt, ...) ERR_PRINTF(2, 3);

/* For stages/ only: prints the message and exits with status 1 (pending atomic outputs are
 * removed by atexit). Library code returns err_msg() instead. */
_Noreturn void err_die(const char *where, const char *fmt, ...) ERR_PRINTF(2, 3);

/* Allocation that cannot fail silently: on out-of-memory prints a message naming the size and
 * exits with status 1 -- the documented exception to the policy above, usable anywhere. */
void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
/* Frees the n strings of v and v itself (either may be NULL when n is 0). */
void strs_free(char **v, int n);

/* For stages/ only: exits with status 1 when a C_OK/C_ERR call failed; the callee has already
 * printed why. */
#define CHECK_OK(call) do { if ((call) != C_OK) err_exit(); } while (0)
_Noreturn void err_exit(void);
/* 1 once err_exit or err_die is ending the process (its atexit cleanup asks). */
int err_failing(void);

#endif
