/* params.c: strict JSON parameter files (see params.h). */
#include "core/params.h"
#include "core/errors.h"
#include "core/fs.h"
#include "core/json.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *type_text(p_type t)
{
    switch (t) {
    case P_NUMBER: return "a number";
    case P_INT: return "an integer";
    case P_BOOL: return "true or false";
    case P_STRING: return "a string";
    case P_OBJECT: return "an object";
    case P_ARRAY: return "an array";
    }
    return "?";
}

static int type_ok(const cJSON *v, p_type t)
{
    switch (t) {
    case P_NUMBER: return cJSON_IsNumber(v);
    case P_INT: {
        long long i;
        return json_int(v, -JSON_INT_EXACT, JSON_INT_EXACT, &i) == JSON_INT_OK;
    }
    case P_BOOL: return cJSON_IsBool(v);
    case P_STRING: return cJSON_IsString(v);
    case P_OBJECT: return cJSON_IsObject(v);
    case P_ARRAY: return cJSON_IsArray(v);
    }
    return 0;
}

/* "a.b" or "b" at the top level. */
static void key_path(char *out, size_t cap, const char *where, const char *key)
{
    if (where && *where) snprintf(out, cap, "%s.%s", where, key);
    else snprintf(out, cap, "%s", key);
}

int params_check(const char *file, const char *where, const cJSON *obj, const p_field *fields, int n)
{
    char kp[512];
    if (!cJSON_IsObject(obj))
        return err_msg(file, "%s: must be an object", where && *where ? where : "(top level)");
    for (const cJSON *c = obj->child; c; c = c->next) {
        key_path(kp, sizeof kp, where, c->string);
        for (const cJSON *p = obj->child; p != c; p = p->next)
            if (!strcmp(p->string, c->string)) return err_msg(file, "%s: duplicate key", kp);
        const p_field *f = NULL;
        for (int i = 0; i < n && !f; i++)
            if (!strcmp(fields[i].key, c->string)) f = &fields[i];
        if (!f) return err_msg(file, "%s: unknown key", kp);
        if (!type_ok(c, f->type)) return err_msg(file, "%s: must be %s", kp, type_text(f->type));
        if ((f->type == P_NUMBER || f->type == P_INT) && f->min <= f->max) {
            double v = c->valuedouble;
            int low = f->min_exclusive ? !(v > f->min) : !(v >= f->min);
            if (low || !(v <= f->max))
                return err_msg(file, "%s: must be in %c%.10g, %.10g] (got %.10g)", kp,
                               f->min_exclusive ? '(' : '[', f->min, f->max, v);
        }
    }
    for (int i = 0; i < n; i++)
        if (fields[i].required && !cJSON_GetObjectItemCaseSensitive(obj, fields[i].key)) {
            key_path(kp, sizeof kp, where, fields[i].key);
            return err_msg(file, "%s: missing required key", kp);
        }
    return C_OK;
}

double params_number(const cJSON *obj, const char *key, double dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

long params_int(const cJSON *obj, const char *key, long dflt)
{
    long long i;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return v && json_int(v, -JSON_INT_EXACT, JSON_INT_EXACT, &i) == JSON_INT_OK ? (long)i : dflt;
}

int params_bool(const cJSON *obj, const char *key, int dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsBool(v) ? cJSON_IsTrue(v) : dflt;
}

const char *params_string(const cJSON *obj, const char *key, const char *dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(v) ? v->valuestring : dflt;
}

int params_file_hash(const char *path, char out[17])
{
    FILE *f = fs_fopen_read(path);   /* a regular file: a FIFO is refused, never waited on */
    if (!f) return C_ERR;
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a 64 offset basis */
    unsigned char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        for (size_t i = 0; i < n; i++) h = (h ^ buf[i]) * 0x100000001b3ULL;
    int bad = ferror(f);
    fclose(f);
    if (bad) return err_msg(path, "read failed");
    snprintf(out, 17, "%016llx", (unsigned long long)h);
    return C_OK;
}

int params_thread_arg(const char *opt, const char *v, int *threads)
{
    char *end;
    long t = v ? strtol(v, &end, 10) : -1;
    if (!v || *end || t < 0 || t > 1024) return err_msg(opt, "expects a thread count (0 = all cores)");
    *threads = (int)t;
    return C_OK;
}
