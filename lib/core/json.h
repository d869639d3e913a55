/* json.h: JSON files through cJSON: strict loading with line numbers, atomic writing. */
#ifndef JSON_H
#define JSON_H

#include <cjson/cJSON.h>

typedef struct json_doc {
    char *path;
    cJSON *root;
} json_doc;

/* Reads and parses a JSON file; a missing file or a syntax error names the file (and the
 * line of the error). The root must be an object. */
int json_load(json_doc *d, const char *path);
void json_free(json_doc *d);

/* cJSON -> path atomically (formatted, newline-terminated). Frees nothing. */
int json_write_atomic(const char *path, const cJSON *o);

#endif
