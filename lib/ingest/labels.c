/* labels.c: parses labels.txt, gives every image its label, orders each split by index and
 * refuses duplicates and empty splits. Runs after the whole stream was read, because labels.txt
 * may come after the images in the archive. */
#include "ingest/ingest.h"

#include "core/errors.h"

#include <stdlib.h>
#include <string.h>

#define MAX_CLASS_NAME 64

/* A class name becomes a folder name and a comma-separated metadata list: keep it plain. */
static const char *class_name_problem(const char *name)
{
    size_t n = strlen(name);
    if (n == 0) return "empty class name";
    if (n > MAX_CLASS_NAME) return "class name too long";
    if (!strcmp(name, ".") || !strcmp(name, "..")) return "class name cannot be '.' or '..'";
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        if (*p < 0x20 || *p == 0x7f || *p == '/' || *p == ',' || *p == '\\')
            return "class name contains '/', ',', '\\' or a control character";
    return NULL;
}

static int parse_labels(ingest_set *s)
{
    const char *where = s->labels_entry;
    char *text = xstrdup(s->labels_text);
    char **names = NULL;
    int n = 0, line = 0, blank_at = 0, rc = C_OK;
    for (char *p = text; *p;) {
        char *eol = strchr(p, '\n');
        if (eol) *eol = '\0';
        line++;
        /* Trim surrounding blanks and a DOS line end. */
        char *end = p + strlen(p);
        while (end > p && (end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t')) *--end = '\0';
        while (*p == ' ' || *p == '\t') p++;
        if (!*p) {
            if (!blank_at) blank_at = line;
        } else {
            const char *problem = class_name_problem(p);
            if (blank_at) problem = "empty class name";
            if (problem) {
                rc = err_msg(where, "line %d: %s", blank_at ? blank_at : line, problem);
                break;
            }
            for (int c = 0; c < n; c++)
                if (!strcmp(names[c], p)) {
                    rc = err_msg(where, "line %d: duplicate class '%s'", line, p);
                    break;
                }
            if (rc != C_OK) break;
            if (n == INGEST_MAX_CLASSES) {
                rc = err_msg(where, "more than %d classes", INGEST_MAX_CLASSES);
                break;
            }
            names = xrealloc(names, (size_t)(n + 1) * sizeof *names);
            names[n++] = xstrdup(p);
        }
        if (!eol) break;
        p = eol + 1;
    }
    free(text);
    if (rc == C_OK && n == 0) rc = err_msg(where, "no class names");
    if (rc != C_OK) {
        for (int c = 0; c < n; c++) free(names[c]);
        free(names);
        return C_ERR;
    }
    s->classes = names;
    s->n_classes = n;
    return C_OK;
}

static int by_index(const void *a, const void *b)
{
    const ingest_image *x = a, *y = b;
    if (x->index != y->index) return x->index < y->index ? -1 : 1;
    return strcmp(x->entry, y->entry);
}

int ingest_resolve(ingest_set *s)
{
    if (!s->labels_text)
        return err_msg(s->archive, "cifar/labels.txt: missing from the archive");
    if (parse_labels(s) != C_OK) return C_ERR;

    for (int k = 0; k < SORT_NSPLITS; k++) {
        ingest_split *sp = &s->split[k];
        for (size_t i = 0; i < sp->n; i++) {
            ingest_image *im = &sp->items[i];
            for (int c = 0; c < s->n_classes && im->label < 0; c++)
                if (!strcmp(s->classes[c], im->class_name)) im->label = c;
            if (im->label < 0)
                return err_msg(im->entry, "unknown class '%s' (not in %s)", im->class_name,
                               s->labels_entry);
        }
    }
    for (int k = 0; k < SORT_NSPLITS; k++) {
        ingest_split *sp = &s->split[k];
        if (sp->n) qsort(sp->items, sp->n, sizeof *sp->items, by_index);
        for (size_t i = 1; i < sp->n; i++)
            if (sp->items[i].index == sp->items[i - 1].index)
                return err_msg(sp->items[i].entry, "duplicate index %ld (also %s)",
                               sp->items[i].index, sp->items[i - 1].entry);
    }
    for (int k = 0; k < SORT_NSPLITS; k++)
        if (s->split[k].n == 0)
            return err_msg(s->archive, "cifar/%s/: no images in this split", s->split[k].name);
    return C_OK;
}
