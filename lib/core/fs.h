/* fs.h: folder helpers (mkdir -p, rm -rf) for artifacts and temporaries. */
#ifndef FS_H
#define FS_H

#include <stdio.h>

/* mkdir -p for the folders above path (not path itself). */
int fs_mkdir_parents(const char *path);
/* mkdir -p for path itself. The folders it creates are remembered (the first 16) for
 * fs_remove_made_folders. */
int fs_mkdir_p(const char *path);
/* Removes, deepest first, the folders this process's fs_mkdir_p created that are empty now: a
 * stage that fails leaves no empty artifact folders behind (core/atomic.c calls it at a failing
 * exit and in its signal cleanup, after the temporaries and lock files are gone). Only rmdir:
 * safe in a signal handler. */
void fs_remove_made_folders(void);
/* rm -rf; C_OK when path is gone afterwards. Async-signal-safe (no malloc, no opendir). */
int fs_remove_tree(const char *path);

/* Opens path for reading, refusing anything but a regular file (a FIFO, a device, a folder, a
 * socket) with one line `path: is a FIFO, not a regular file` and -1: opened with O_NONBLOCK and
 * checked with fstat before the first read, so a FIFO never blocks the open or a read. The
 * descriptor returned is blocking again (close-on-exec). Every artifact reader opens through
 * here (or fs_fopen_read). */
int fs_open_read(const char *path);
/* The same as a stdio stream ("rb"); NULL after the error line. */
FILE *fs_fopen_read(const char *path);
/* C_OK when path is a regular file (checked as fs_open_read does, without reading it); for the
 * stages to check files that a reader outside lib/core and lib/io opens its own way. */
int fs_check_regular(const char *path);
/* "a FIFO", "a folder", ... for a st_mode. */
const char *fs_kind_name(unsigned mode);

#endif
