/* json.c: load a JSON file strictly (errors with line and column), read integers exactly, and
 * write a JSON file atomically. */
#include "core/json.h"
#include "core/atomic.h"
#include "core/errors.h"
#include "core/fs.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reads a whole file into a NUL-terminated malloc'd buffer. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fs_fopen_read(path);
    if (!f) return NULL;
    size_t cap = 4096, n = 0;
    char *buf = xmalloc(cap);
    for (;;) {
        n += fread(buf + n, 1, cap - n - 1, f);
        if (n < cap - 1) break;
        cap *= 2;
        buf = xrealloc(buf, cap);
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        err_msg(path, "read failed");
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

int json_load(json_doc *d, const char *path)
{
    memset(d, 0, sizeof *d);
    size_t len;
    char *text = slurp(path, &len);
    if (!text) return C_ERR;
    /* cJSON stops a string at a NUL byte and skips one between tokens as white space, so
     * "cpu\0junk" would read as "cpu": refuse the file instead. */
    const char *nul = memchr(text, '\0', len);
    if (nul) {
        int line = 1;
        for (const char *q = text; q < nul; q++) line += *q == '\n';
        err_msg(path, "invalid JSON at line %d: contains a NUL byte", line);
        free(text);
        return C_ERR;
    }
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    int rc = C_OK;
    if (!root) {
        /* cJSON only gives a pointer to where parsing stopped: turn it into line:column. */
        const char *ep = cJSON_GetErrorPtr();
        if (!ep || ep < text || ep > text + len) ep = text + len;
        int line = 1, col = 1;
        for (const char *p = text; p < ep; p++) {
            if (*p == '\n') line++, col = 1;
            else col++;
        }
        rc = err_msg(path, "invalid JSON at line %d, column %d", line, col);
    } else {
        const char *p = end;
        while (p < text + len && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
        if (p < text + len) {
            int line = 1;
            for (const char *q = text; q < p; q++) line += *q == '\n';
            rc = err_msg(path, "invalid JSON at line %d: unexpected text after the end", line);
        } else if (!cJSON_IsObject(root)) {
            rc = err_msg(path, "the top level must be a JSON object");
        }
    }
    free(text);
    if (rc != C_OK) {
        cJSON_Delete(root);
        return C_ERR;
    }
    d->path = xstrdup(path);
    d->root = root;
    return C_OK;
}

json_int_status json_int(const cJSON *v, long long min, long long max, long long *out)
{
    if (!cJSON_IsNumber(v) || floor(v->valuedouble) != v->valuedouble) return JSON_INT_NOT_INTEGER;
    if (!(v->valuedouble >= (double)min && v->valuedouble <= (double)max)) return JSON_INT_RANGE;
    *out = (long long)v->valuedouble;
    return JSON_INT_OK;
}

void json_free(json_doc *d)
{
    cJSON_Delete(d->root);
    free(d->path);
    memset(d, 0, sizeof *d);
}

int json_write_atomic(const char *path, const cJSON *o)
{
    char *text = cJSON_Print(o);
    if (!text) return err_msg(path, "cannot format JSON");
    size_t len = strlen(text);
    text = xrealloc(text, len + 2);
    text[len] = '\n';
    text[len + 1] = '\0';
    int rc = atomic_write(path, text, len + 1);
    free(text);
    return rc;
}
