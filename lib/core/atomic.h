/* atomic.h: every artifact is written as temp file in the target's folder -> fsync -> rename.
 *
 * A file opened here is registered until committed or aborted; if the process exits first
 * (a stage's exit, a signal handled by the stage, return from main) the atexit hook removes the
 * temporary, so no half-written artifact is ever left behind. Directories work the same way
 * (atomic_dir_*): built under a temporary name, then swapped in whole. */
#ifndef ATOMIC_H
#define ATOMIC_H

#include <stdio.h>
#include <stddef.h>

typedef struct atomic_file {
    FILE *fp;          /* write here */
    char *path;        /* final path (owned) */
    char *tmp_path;    /* temporary path in the same folder (owned) */
} atomic_file;

/* Creates the parent folders of path and opens a fresh temporary next to it. */
int atomic_open(atomic_file *af, const char *path);
/* Flushes, fsyncs, closes and renames over path; on any failure removes the temporary and
 * prints `stage: path: ...`. Always releases af. */
int atomic_commit(atomic_file *af);
/* Closes and removes the temporary; the old artifact (if any) is untouched. */
void atomic_abort(atomic_file *af);

/* Convenience: the whole file from one buffer. */
int atomic_write(const char *path, const void *data, size_t len);

/* Directory variant: atomic_dir_open makes an empty temporary folder beside path and returns
 * its name in *tmp_dir (owned by the registry); atomic_dir_commit fsyncs nothing per file (the
 * caller fsyncs what it wants) but replaces path with the folder in one rename after moving the
 * old one aside. */
int atomic_dir_open(const char *path, const char **tmp_dir);
int atomic_dir_commit(const char *path);
void atomic_dir_abort(const char *path);

#endif
