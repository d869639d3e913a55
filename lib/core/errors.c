/* errors.c: one-line diagnostics and the allocation helpers that die on out-of-memory. */
#include "core/errors.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char stage_name[64] = "cifar";
static char *capture_buf;
static size_t capture_cap;
static int failing;

int err_failing(void) { return failing; }

void err_capture(char *buf, size_t cap)
{
    capture_buf = cap ? buf : NULL;
    capture_cap = cap;
    if (capture_buf) capture_buf[0] = '\0';
}

void err_init(const char *argv0)
{
    const char *base = strrchr(argv0, '/');
    base = base ? base + 1 : argv0;
    snprintf(stage_name, sizeof stage_name, "%s", base);
}

const char *err_stage(void) { return stage_name; }

static void vprint(const char *where, const char *kind, const char *fmt, va_list ap)
{
    /* Build the whole line first so concurrent stages never interleave half-lines. */
    char line[1024];
    int n = snprintf(line, sizeof line, "%s: ", stage_name);
    if (where && n < (int)sizeof line) n += snprintf(line + n, sizeof line - n, "%s: ", where);
    if (kind && n < (int)sizeof line) n += snprintf(line + n, sizeof line - n, "%s", kind);
    if (n < (int)sizeof line) vsnprintf(line + n, sizeof line - n, fmt, ap);
    for (char *p = line; *p; p++)
        if (*p == '\n') *p = ' ';
    if (capture_buf) {
        snprintf(capture_buf, capture_cap, "%s", line + strlen(stage_name) + 2);   /* the last line wins */
        return;
    }
    fprintf(stderr, "%s\n", line);
}

int err_msg(const char *where, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprint(where, NULL, fmt, ap);
    va_end(ap);
    return C_ERR;
}

void err_warn(const char *where, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprint(where, "warning: ", fmt, ap);
    va_end(ap);
}

void err_die(const char *where, const char *fmt, ...)
{
    capture_buf = NULL;   /* the process ends: its last line must reach stderr, not a capture */
    failing = 1;
    va_list ap;
    va_start(ap, fmt);
    vprint(where, NULL, fmt, ap);
    va_end(ap);
    exit(1);
}

void err_exit(void)
{
    failing = 1;
    exit(1);
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) err_die(NULL, "out of memory allocating %zu bytes", n);
    return p;
}

void *xcalloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) err_die(NULL, "out of memory allocating %zu x %zu bytes", count, size);
    return p;
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) err_die(NULL, "out of memory allocating %zu bytes", n);
    return q;
}

char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(xmalloc(n), s, n);
}

void strs_free(char **v, int n)
{
    for (int i = 0; i < n; i++) free(v[i]);
    free(v);
}
