/* key_path.h: overrides of a JSON params document by dotted key path.
 *
 * A key path names one value of the document: object keys and array indices joined by dots,
 * e.g. `batch_size`, `augment.flip`, `phases.0.lr`. Every step but the last must exist; the last
 * may name a key the object lacks (it is added, and the params checker then decides whether the
 * key is allowed). */
#ifndef SWEEP_KEY_PATH_H
#define SWEEP_KEY_PATH_H

#include <cjson/cJSON.h>

/* Replaces (or adds) the value at path in root with a copy of value. On a path that does not
 * resolve, writes why into why[cap] (e.g. "phases.5: index out of range (phases has 3 entries)")
 * and returns C_ERR without printing: the caller names the file. */
int key_path_set(cJSON *root, const char *path, const cJSON *value, char *why, size_t cap);

/* C_OK when path is well formed: non-empty steps of [A-Za-z0-9_-] joined by single dots. */
int key_path_valid(const char *path);

#endif
