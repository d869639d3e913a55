/* write.c: writes the class folders <out>/cifar10/{train,test}/<class>/<i>.png and the
 * packed tensors <out>/data/{train,test}.safetensors (docs/artifacts.md).
 *
 * The cifar10 tree is built in a temporary folder, the tensor files as temporaries, and the three
 * are committed as one group (core/atomic.h), so a failure or a kill leaves the previous tree
 * and tensors (or none). A PNG that already is a plain
 * 32x32 8-bit RGB image is copied byte for byte (decoding proved it valid); only converted ones
 * (gray, palette, alpha, 16-bit) are re-encoded. Files are written in parallel. */
#include "ingest/ingest.h"

#include "core/atomic.h"
#include "core/fs.h"
#include "core/errors.h"
#include "io/png_io.h"
#include "core/progress.h"
#include "io/safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* 1 when the PNG is 32x32, 8-bit RGB (colour type 2) with no tRNS chunk: then its bytes can be
 * copied as they are. Walks the chunk list with bounds checks; anything odd means "re-encode". */
static int png_is_plain_rgb8(const unsigned char *d, size_t len)
{
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (len < 33 || memcmp(d, sig, 8) != 0 || memcmp(d + 12, "IHDR", 4) != 0) return 0;
    if (be32(d + 16) != INGEST_SIDE || be32(d + 20) != INGEST_SIDE || d[24] != 8 || d[25] != 2)
        return 0;
    for (size_t at = 8; at + 12 <= len;) {
        uint32_t n = be32(d + at);
        if (n > len - at - 12) return 0;
        if (!memcmp(d + at + 4, "tRNS", 4)) return 0;
        if (!memcmp(d + at + 4, "IEND", 4)) return 1;
        at += 12 + (size_t)n;
    }
    return 0;
}

/* Writes one file in the folder dirfd with plain syscalls: no stdio buffer, no fstat, and a
 * short relative name instead of a full path lookup (60,000 files make this the hot spot). */
static int write_file_at(int dirfd, const char *name, const void *data, size_t len, int *err)
{
    int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        *err = errno;
        return C_ERR;
    }
    const char *p = data;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            *err = w < 0 ? errno : EIO;
            close(fd);
            return C_ERR;
        }
        p += w;
        len -= (size_t)w;
    }
    if (close(fd) != 0) {
        *err = errno;
        return C_ERR;
    }
    return C_OK;
}

/* Writes every image of split sp under root/<split>/<class>/. */
static int write_split_folders(const ingest_set *s, const ingest_split *sp, const char *root,
                               progress *bar, long *done)
{
    char dir[PATH_MAX];
    int *dirfd = xmalloc((size_t)s->n_classes * sizeof *dirfd);
    for (int c = 0; c < s->n_classes; c++) {
        snprintf(dir, sizeof dir, "%s/%s/%s", root, sp->name, s->classes[c]);
        dirfd[c] = fs_mkdir_p(dir) == C_OK ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
        if (dirfd[c] < 0) {
            int e = errno;
            for (int k = 0; k < c; k++) close(dirfd[k]);
            free(dirfd);
            return err_msg(dir, "cannot open folder: %s", strerror(e));
        }
    }
    long n = (long)sp->n, first_bad = -1;
    int bad_errno = 0, stop = 0;
#pragma omp parallel for schedule(dynamic, 64)
    for (long i = 0; i < n; i++) {
        if (ingest_stopped(&stop)) continue;
        const ingest_image *im = &sp->items[i];
        char name[32];
        snprintf(name, sizeof name, "%ld.png", im->index);
        int err = 0, rc;
        if (png_is_plain_rgb8(im->png, im->png_len)) {
            rc = write_file_at(dirfd[im->label], name, im->png, im->png_len, &err);
        } else {
            void *enc = NULL;
            size_t enc_len = 0;
            rc = png_io_encode_rgb(sp->pixels + (size_t)i * INGEST_IMAGE_BYTES, INGEST_SIDE, INGEST_SIDE,
                                &enc, &enc_len);
            if (rc == C_OK) rc = write_file_at(dirfd[im->label], name, enc, enc_len, &err);
            free(enc);
        }
        if (rc != C_OK) {
#pragma omp critical(sort_write_err)
            if (first_bad < 0 || i < first_bad) first_bad = i, bad_errno = err;
#pragma omp atomic write
            stop = 1;
        }
        long d;
#pragma omp atomic capture
        d = ++*done;
        if (bar && (d & 255) == 0) {
#pragma omp critical(sort_progress)
            progress_update(bar, d);
        }
    }
    for (int c = 0; c < s->n_classes; c++) close(dirfd[c]);
    free(dirfd);
    if (first_bad >= 0) {
        char path[PATH_MAX];
        const ingest_image *im = &sp->items[first_bad];
        snprintf(path, sizeof path, "%s/%s/%s/%ld.png", root, sp->name, s->classes[im->label],
                 im->index);
        if (bad_errno) return err_msg(path, "cannot write: %s", strerror(bad_errno));
        return err_msg(im->entry, "cannot re-encode the image");
    }
    return C_OK;
}

static int write_tensors(const ingest_set *s, const ingest_split *sp, const char *out_dir)
{
    char path[PATH_MAX], *classes;
    size_t len = 1;
    for (int c = 0; c < s->n_classes; c++) len += strlen(s->classes[c]) + 1;
    classes = xcalloc(1, len);
    for (int c = 0; c < s->n_classes; c++) {
        if (c) strcat(classes, ",");
        strcat(classes, s->classes[c]);
    }
    const char *base = strrchr(s->archive, '/');
    base = base ? base + 1 : s->archive;

    safetensors_writer w;
    safetensors_writer_init(&w);
    int64_t shape_img[4] = {(int64_t)sp->n, INGEST_SIDE, INGEST_SIDE, 3};
    int64_t shape_lab[1] = {(int64_t)sp->n};
    safetensors_writer_add(&w, "images", SAFETENSORS_U8, 4, shape_img, sp->pixels);
    safetensors_writer_add(&w, "labels", SAFETENSORS_U8, 1, shape_lab, sp->labels);
    safetensors_writer_meta(&w, "classes", classes);
    safetensors_writer_meta(&w, "split", sp->name);
    safetensors_writer_meta(&w, "source", base);
    snprintf(path, sizeof path, "%s/data/%s.safetensors", out_dir, sp->name);
    int rc = safetensors_writer_save(&w, path);
    safetensors_writer_free(&w);
    free(classes);
    return rc;
}

static int lock_and_recover(const char *out_dir);

int ingest_write(const ingest_set *s, const char *out_dir)
{
    char tree[PATH_MAX];
    if (snprintf(tree, sizeof tree, "%s/cifar10", out_dir) >= (int)sizeof tree)
        return err_msg(out_dir, "path too long");
    if (lock_and_recover(out_dir) != C_OK) return C_ERR;
    const char *tmp;
    if (atomic_dir_open(tree, &tmp) != C_OK) return C_ERR;

    long total = 0, done = 0;
    for (int k = 0; k < SORT_NSPLITS; k++) total += (long)s->split[k].n;
    progress bar;
    if (s->show_progress) progress_init(&bar, "sort: write", total);
    int rc = C_OK;
    for (int k = 0; k < SORT_NSPLITS && rc == C_OK; k++)
        rc = write_split_folders(s, &s->split[k], tmp, s->show_progress ? &bar : NULL, &done);
    if (s->show_progress) {
        if (rc == C_OK) {
            progress_update(&bar, total);
            progress_finish(&bar);
        } else {
            fputc('\n', stderr);
        }
    }
    char journal[PATH_MAX];
    snprintf(journal, sizeof journal, "%s/sort.commit", out_dir);
    if (rc == C_OK) rc = atomic_group_begin(journal);
    for (int k = 0; k < SORT_NSPLITS && rc == C_OK; k++) rc = write_tensors(s, &s->split[k], out_dir);
    if (rc == C_OK) rc = atomic_dir_commit(tree);
    if (rc == C_OK) return atomic_group_commit();
    atomic_group_abort();
    atomic_dir_abort(tree);
    return rc;
}

/* Takes the lock once per process (kept until exit) and rolls a journal forward. */
static int lock_and_recover(const char *out_dir)
{
    static int locked;
    char lock[PATH_MAX], journal[PATH_MAX];
    snprintf(lock, sizeof lock, "%s/sort.lock", out_dir);
    snprintf(journal, sizeof journal, "%s/sort.commit", out_dir);
    if (!locked && atomic_lock(lock) < 0) return C_ERR;
    locked = 1;
    /* Only sort's own outputs roll forward (what ingest_write's group commits), not any path
     * under out_dir: another stage's file there is not sort's to rename. */
    char tree[PATH_MAX], train[PATH_MAX], test[PATH_MAX];
    snprintf(tree, sizeof tree, "%s/cifar10", out_dir);
    snprintf(train, sizeof train, "%s/data/train.safetensors", out_dir);
    snprintf(test, sizeof test, "%s/data/test.safetensors", out_dir);
    const char *const outs[] = { tree, train, test };
    return atomic_recover_outputs(journal, outs, 3);
}

int ingest_recover(const char *out_dir)
{
    char journal[PATH_MAX];
    snprintf(journal, sizeof journal, "%s/sort.commit", out_dir);
    return access(journal, F_OK) == 0 ? lock_and_recover(out_dir) : C_OK;
}
