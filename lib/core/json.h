/* json.h: JSON files through cJSON: strict loading with line numbers, atomic writing. */
#ifndef JSON_H
#define JSON_H

#include <cjson/cJSON.h>

typedef struct json_doc {
    char *path;
    cJSON *root;
} json_doc;

/* Reads and parses a JSON file; a missing file, a NUL byte or a syntax error names the file
 * (and the line). The root must be an object. */
int json_load(json_doc *d, const char *path);
void json_free(json_doc *d);

/* The integer value of a JSON number, decided in double before any conversion (a cast of an
 * out-of-range double is undefined): JSON_INT_OK and *out set when v is a number without a
 * fraction inside [min, max]; JSON_INT_NOT_INTEGER when v is not a number or has a fraction
 * (10.5, 32.7); JSON_INT_RANGE when v is a whole number outside [min, max] (1e10, or 1e400,
 * which cJSON reads as infinity). min and max must lie within +-2^53 (exact in a double). */
typedef enum json_int_status { JSON_INT_OK, JSON_INT_NOT_INTEGER, JSON_INT_RANGE } json_int_status;
json_int_status json_int(const cJSON *v, long long min, long long max, long long *out);
#define JSON_INT_EXACT 9007199254740992LL   /* 2^53: the largest range json_int accepts */

/* cJSON -> path atomically (formatted, newline-terminated). Frees nothing. */
int json_write_atomic(const char *path, const cJSON *o);

#endif
