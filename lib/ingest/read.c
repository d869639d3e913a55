/* read.c: streams the archive with libarchive, checks each entry's type and name, and
 * keeps the bytes of labels.txt and of every image entry in memory. Nothing is extracted. */
#include "ingest/ingest.h"

#include "core/errors.h"
#include "core/progress.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void ingest_set_init(ingest_set *s)
{
    memset(s, 0, sizeof *s);
    s->split[SORT_TRAIN].name = "train";
    s->split[SORT_TEST].name = "test";
}

void ingest_set_free(ingest_set *s)
{
    for (int k = 0; k < SORT_NSPLITS; k++) {
        ingest_split *sp = &s->split[k];
        for (size_t i = 0; i < sp->n; i++) {
            free(sp->items[i].entry);
            free(sp->items[i].class_name);
            free(sp->items[i].png);
        }
        free(sp->items);
        free(sp->pixels);
        free(sp->labels);
    }
    strs_free(s->classes, s->n_classes);
    free(s->labels_text);
    free(s->labels_entry);
    free(s->archive);
    ingest_set_init(s);
}

/* Is there a ".." component anywhere in name? */
static int has_dotdot(const char *name)
{
    for (const char *p = name; *p;) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        if (len == 2 && p[0] == '.' && p[1] == '.') return 1;
        if (!slash) break;
        p = slash + 1;
    }
    return 0;
}

int ingest_classify_name(const char *name, int *split, long *index, const char **cls,
                       size_t *cls_len, const char **why)
{
    *why = NULL;
    if (name[0] == '/') {
        *why = "absolute path refused";
        return SORT_NAME_BAD;
    }
    if (has_dotdot(name)) {
        *why = "'..' path component refused";
        return SORT_NAME_BAD;
    }
    while (name[0] == '.' && name[1] == '/') name += 2;
    if (!strcmp(name, "cifar/labels.txt")) return SORT_NAME_LABELS;
    if (!strcmp(name, "cifar/") || !strcmp(name, "cifar") || !strcmp(name, "cifar/train/") ||
        !strcmp(name, "cifar/train") || !strcmp(name, "cifar/test/") || !strcmp(name, "cifar/test"))
        return SORT_NAME_LAYOUT_DIR;

    const char *base;
    if (!strncmp(name, "cifar/train/", 12)) *split = SORT_TRAIN, base = name + 12;
    else if (!strncmp(name, "cifar/test/", 11)) *split = SORT_TEST, base = name + 11;
    else return SORT_NAME_OTHER;
    size_t len = strlen(base);
    if (strchr(base, '/') || len < 4 || strcmp(base + len - 4, ".png") != 0)
        return SORT_NAME_OTHER;

    /* <i>_<class>.png: decimal index (at most 9 digits), underscore, non-empty class. */
    size_t d = 0;
    while (base[d] >= '0' && base[d] <= '9') d++;
    if (d == 0 || base[d] != '_') {
        *why = "name without an index (expected <index>_<class>.png)";
        return SORT_NAME_BAD;
    }
    if (d > 9) {
        *why = "index too large";
        return SORT_NAME_BAD;
    }
    *index = strtol(base, NULL, 10);
    *cls = base + d + 1;
    *cls_len = len - 4 - (d + 1);
    if (*cls_len == 0) {
        *why = "name without a class (expected <index>_<class>.png)";
        return SORT_NAME_BAD;
    }
    return SORT_NAME_IMAGE;
}

/* Reads the current entry's data into a malloc'd buffer of at most limit bytes (plus a NUL). */
static int read_entry(struct archive *a, const char *archive, const char *entry, size_t limit,
                      unsigned char **out, size_t *out_len)
{
    size_t cap = 4096, n = 0;
    unsigned char *buf = xmalloc(cap + 1);
    for (;;) {
        if (n == cap) {
            if (cap >= limit) {
                free(buf);
                return err_msg(entry, "entry too large (over %zu bytes)", limit);
            }
            cap = cap * 2 > limit ? limit : cap * 2;
            buf = xrealloc(buf, cap + 1);
        }
        la_ssize_t r = archive_read_data(a, buf + n, cap - n);
        if (r < 0) {
            free(buf);
            return err_msg(archive, "%s: truncated or corrupt archive: %s", entry,
                           archive_error_string(a) ? archive_error_string(a) : "read error");
        }
        if (r == 0) break;
        n += (size_t)r;
    }
    buf[n] = '\0';
    *out = buf;
    *out_len = n;
    return C_OK;
}

static const char *type_refusal(struct archive_entry *e)
{
    if (archive_entry_hardlink(e)) return "hard link refused";
    switch (archive_entry_filetype(e)) {
    case AE_IFREG: return NULL;
    case AE_IFDIR: return NULL;
    case AE_IFLNK: return "symbolic link refused";
    case AE_IFCHR: return "character device refused";
    case AE_IFBLK: return "block device refused";
    case AE_IFIFO: return "fifo refused";
    case AE_IFSOCK: return "socket refused";
    default: return "unsupported entry type refused";
    }
}

static void add_image(ingest_set *s, int split, const char *entry, long index, const char *cls,
                      size_t cls_len, unsigned char *png, size_t png_len)
{
    ingest_split *sp = &s->split[split];
    if (sp->n == sp->cap) {
        sp->cap = sp->cap ? sp->cap * 2 : 1024;
        sp->items = xrealloc(sp->items, sp->cap * sizeof *sp->items);
    }
    ingest_image *im = &sp->items[sp->n++];
    im->entry = xstrdup(entry);
    im->index = index;
    im->class_name = xmalloc(cls_len + 1);
    memcpy(im->class_name, cls, cls_len);
    im->class_name[cls_len] = '\0';
    im->label = -1;
    im->png = png;
    im->png_len = png_len;
}

/* Handles one entry whose header was just read. */
static int take_entry(ingest_set *s, struct archive *a, struct archive_entry *e, const char *name)
{
    const char *refusal = type_refusal(e);
    if (refusal) return err_msg(name, "%s", refusal);

    int split = 0;
    long index = 0;
    const char *cls = NULL, *why = NULL;
    size_t cls_len = 0;
    int kind = ingest_classify_name(name, &split, &index, &cls, &cls_len, &why);
    int is_dir = archive_entry_filetype(e) == AE_IFDIR;
    if (kind == SORT_NAME_BAD) return err_msg(name, "%s", why);
    if (kind == SORT_NAME_LAYOUT_DIR && is_dir) return C_OK;
    if (kind == SORT_NAME_OTHER || kind == SORT_NAME_LAYOUT_DIR || is_dir) {
        err_warn(name, "not part of the CIFAR layout, skipped");
        return C_OK;
    }

    unsigned char *data;
    size_t len;
    if (kind == SORT_NAME_LABELS) {
        if (s->labels_text) return err_msg(name, "duplicate entry");
        if (read_entry(a, s->archive, name, INGEST_MAX_LABELS_BYTES, &data, &len) != C_OK)
            return C_ERR;
        if (memchr(data, '\0', len)) {
            free(data);
            return err_msg(name, "not a text file");
        }
        s->labels_text = (char *)data;
        s->labels_entry = xstrdup(name);
        return C_OK;
    }
    if (read_entry(a, s->archive, name, INGEST_MAX_PNG_BYTES, &data, &len) != C_OK) return C_ERR;
    add_image(s, split, name, index, cls, cls_len, data, len);
    return C_OK;
}

/* Reads every entry of the opened archive a (of total_bytes, for the progress bar), then frees a. */
static int read_entries(ingest_set *s, struct archive *a, long total_bytes)
{
    const char *archive_path = s->archive;
    progress bar;
    if (s->show_progress) progress_init(&bar, "sort: read (KiB)", total_bytes / 1024);
    int rc = C_OK;
    char *last = xstrdup("(start of archive)");
    for (;;) {
        struct archive_entry *e;
        int r = archive_read_next_header(a, &e);
        if (r == ARCHIVE_EOF) break;
        if (r == ARCHIVE_WARN) {
            /* libarchive warns about odd headers it could still read (e.g. charset issues). */
        } else if (r != ARCHIVE_OK) {
            const char *msg = archive_error_string(a);
            rc = err_msg(archive_path, "after %s: truncated or corrupt archive: %s", last,
                         msg ? msg : "read error");
            break;
        }
        const char *name = archive_entry_pathname(e);
        if (!name || !name[0]) {
            rc = err_msg(archive_path, "after %s: entry without a name", last);
            break;
        }
        free(last);
        last = xstrdup(name);
        if (take_entry(s, a, e, name) != C_OK) {
            rc = C_ERR;
            break;
        }
        if (s->show_progress) progress_update(&bar, (long)(archive_filter_bytes(a, -1) / 1024));
    }
    free(last);
    if (rc == C_OK && archive_read_close(a) != ARCHIVE_OK)
        rc = err_msg(archive_path, "truncated or corrupt archive: %s", archive_error_string(a));
    archive_read_free(a);
    if (s->show_progress) {
        if (rc == C_OK) progress_finish(&bar);
        else fputc('\n', stderr);
    }
    return rc;
}

static struct archive *archive_reader_new(void)
{
    struct archive *a = archive_read_new();
    archive_read_support_filter_all(a);
    archive_read_support_format_all(a);
    return a;
}

int ingest_read(ingest_set *s, const char *archive_path)
{
    s->archive = xstrdup(archive_path);
    struct stat st;
    if (stat(archive_path, &st) != 0)
        return err_msg(archive_path, "cannot open: %s", strerror(errno));

    struct archive *a = archive_reader_new();
    if (archive_read_open_filename(a, archive_path, 1 << 16) != ARCHIVE_OK) {
        int rc = err_msg(archive_path, "cannot read archive: %s", archive_error_string(a));
        archive_read_free(a);
        return rc;
    }
    return read_entries(s, a, (long)st.st_size);
}

int ingest_read_memory(ingest_set *s, const char *name, const void *data, size_t len)
{
    s->archive = xstrdup(name);
    struct archive *a = archive_reader_new();
    if (archive_read_open_memory(a, data, len) != ARCHIVE_OK) {
        int rc = err_msg(name, "cannot read archive: %s", archive_error_string(a));
        archive_read_free(a);
        return rc;
    }
    return read_entries(s, a, (long)len);
}
