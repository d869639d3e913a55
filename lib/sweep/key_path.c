/* key_path.c: set one value of a JSON document by dotted key path (see key_path.h). */
#include "sweep/key_path.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/errors.h"

int key_path_valid(const char *path)
{
    if (!*path) return C_ERR;
    size_t step = 0;
    for (const char *p = path; *p; p++) {
        if (*p == '.') {
            if (!step) return C_ERR;
            step = 0;
        } else if (isalnum((unsigned char)*p) || *p == '_' || *p == '-') {
            step++;
        } else {
            return C_ERR;
        }
    }
    return step ? C_OK : C_ERR;
}

/* A step that is all digits is an array index. */
static int step_index(const char *s, long *i)
{
    if (!*s) return 0;
    for (const char *p = s; *p; p++)
        if (!isdigit((unsigned char)*p)) return 0;
    *i = strtol(s, NULL, 10);
    return 1;
}

int key_path_set(cJSON *root, const char *path, const cJSON *value, char *why, size_t cap)
{
    char *copy = xstrdup(path), *save = NULL;
    cJSON *at = root;
    int rc = C_ERR;
    char done[512] = "";   /* the steps resolved so far, for the message */
    for (char *s = strtok_r(copy, ".", &save); s; s = strtok_r(NULL, ".", &save)) {
        int last = save == NULL || *save == '\0';
        const char *here = *done ? done : "the top level";
        long idx;
        cJSON *next = NULL;
        if (cJSON_IsArray(at)) {
            int n = cJSON_GetArraySize(at);
            if (!step_index(s, &idx)) {
                snprintf(why, cap, "%s is an array: step \"%s\" must be an index", here, s);
                goto out;
            }
            if (idx >= n) {
                snprintf(why, cap, "index %ld out of range (%s has %d entries)", idx, here, n);
                goto out;
            }
            if (last) {
                cJSON_ReplaceItemInArray(at, (int)idx, cJSON_Duplicate(value, 1));
                rc = C_OK;
                goto out;
            }
            next = cJSON_GetArrayItem(at, (int)idx);
        } else if (cJSON_IsObject(at)) {
            next = cJSON_GetObjectItemCaseSensitive(at, s);
            if (last) {
                if (next) cJSON_ReplaceItemInObjectCaseSensitive(at, s, cJSON_Duplicate(value, 1));
                else cJSON_AddItemToObject(at, s, cJSON_Duplicate(value, 1));
                rc = C_OK;
                goto out;
            }
            if (!next) {
                snprintf(why, cap, "no key \"%s\" in %s", s, here);
                goto out;
            }
        } else {
            snprintf(why, cap, "%s is a single value, not an object or array", here);
            goto out;
        }
        size_t len = strlen(done);
        snprintf(done + len, sizeof done - len, "%s%s", len ? "." : "", s);
        at = next;
    }
out:
    free(copy);
    return rc;
}
