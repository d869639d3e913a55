/* error.h: one-line diagnostics `stage: file: what is wrong` on stderr.
 *
 * Convention: functions that can fail return C_OK / C_ERR after printing their message with
 * err_msg(); stage main()s turn C_ERR into exit(1) with err_exit(). No error path exits with 0.
 * The stage name is set once by err_init(argv[0]). */
#ifndef ERROR_H
#define ERROR_H

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

/* Prints a warning line `stage: where: warning: message`; returns nothing. */
void err_warn(const char *where, const char *fmt, ...) ERR_PRINTF(2, 3);

/* Prints the message and exits with status 1 (pending atomic outputs are removed by atexit). */
_Noreturn void err_die(const char *where, const char *fmt, ...) ERR_PRINTF(2, 3);

/* Allocation that cannot fail silently: dies with a message naming the size. */
void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

/* Dies when a C_OK/C_ERR call failed; the callee has already printed why. */
#define CHECK_OK(call) do { if ((call) != C_OK) err_exit(); } while (0)
_Noreturn void err_exit(void);

#endif
