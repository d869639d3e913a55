/* params.h: strict JSON parameter files through cJSON.
 *
 * A stage describes the keys it accepts with a table of p_field; params_check() refuses an
 * unknown key, a wrong type, a missing required key or an out-of-range number with one line
 * naming the file and the key path, e.g. `train: params/resnet.json: phases[2].lr: must be in
 * (0, 10]`. Nested objects and arrays of objects are checked by calling params_check on them
 * with a longer `where` prefix. */
#ifndef PARAMS_H
#define PARAMS_H

#include <cjson/cJSON.h>

typedef enum p_type { P_NUMBER, P_INT, P_BOOL, P_STRING, P_OBJECT, P_ARRAY } p_type;

typedef struct p_field {
    const char *key;
    p_type type;
    int required;
    double min, max;      /* inclusive bounds for P_NUMBER / P_INT (ignored when min > max) */
    int min_exclusive;    /* 1: the value must be > min rather than >= min */
} p_field;

/* Checks obj against fields[0..n). where is the key-path prefix used in messages ("" at the top,
 * "phases[1]" inside an array). Returns C_OK or C_ERR after printing one line. */
int params_check(const char *file, const char *where, const cJSON *obj, const p_field *fields, int n);

/* Accessors for keys already checked: the default when the key is absent. */
double params_number(const cJSON *obj, const char *key, double dflt);
long params_int(const cJSON *obj, const char *key, long dflt);
int params_bool(const cJSON *obj, const char *key, int dflt);
const char *params_string(const cJSON *obj, const char *key, const char *dflt);

/* The value v of a stage's `opt` thread-count option (--threads N, 0 = all cores, at most
 * 1024) into *threads; C_ERR after one line naming opt when v is missing or not such a count. */
int params_thread_arg(const char *opt, const char *v, int *threads);

/* A stable 64-bit FNV-1a hash of a file's bytes, printed as 16 hex digits into out[17]
 * (used to stamp checkpoints with the params and model files they came from). */
int params_file_hash(const char *path, char out[17]);

#endif
