/* atomic.h: every artifact is written as temp file in the target's folder -> fsync -> rename.
 *
 * A file opened here is registered until committed or aborted; if the process exits first
 * (a stage's exit, a signal: core/signals.h, return from main) the temporary is removed, so no
 * half-written artifact is ever left behind. Directories work the same way (atomic_dir_*): built
 * under a temporary name, then swapped in whole.
 *
 * Temporaries are named `<final>.tmp.XXXXXX` and hold an exclusive flock(2) for as long as their
 * writer lives. Opening a final path first removes every `<final>.tmp.*` whose lock can be taken:
 * what a killed run left behind, never the temporary of a process that is still writing it (pid
 * reuse does not matter: the kernel drops a lock when its owner dies).
 *
 * Groups: between atomic_group_begin and atomic_group_commit, commits only finish their
 * temporaries (fsync'd, still locked); atomic_group_commit then writes a journal listing the
 * renames (fsync'd, renamed into place), does them, fsyncs the folders and removes the journal.
 * If the process dies after the journal is in place, the next atomic_recover of that journal
 * (the stage's first action, under its lock) finishes the renames; before that point the old
 * artifacts stay untouched. So the group's outputs become visible together or not at all. */
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
 * prints `stage: path: ...`. Always releases af. In a group the rename waits for the group. */
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

/* Removes the temporaries of path that no living process holds (done by atomic_open too). */
void atomic_clean_stale(const char *path);

/* One commit for several artifacts (see above). journal: e.g. `<first output>.commit`. */
int atomic_group_begin(const char *journal);
int atomic_group_commit(void);
/* Leaves group mode and removes the group's finished temporaries. */
void atomic_group_abort(void);
/* Rolls a journal left by a killed run forward (no journal: nothing to do). Only the renames
 * such a commit makes are done: each line must move a temporary `<final>.tmp.XXXXXX` (a regular
 * file, or a folder for a `D` line; not a link) of the final's own folder (plain absolute paths,
 * no link in the folder) onto one of outputs (the stage's declared outputs; atomic_recover:
 * anything under the journal's own folder). Every line is checked before the first rename; one
 * that is not such a rename is refused with one line and C_ERR, nothing renamed and the journal
 * left in place for a person to inspect. */
int atomic_recover_outputs(const char *journal, const char *const *outputs, int n_outputs);
int atomic_recover(const char *journal);

/* C_OK when path is absent or of the kind an output needs (is_dir: a folder; else anything but
 * a folder); else one line naming what is there. atomic_group_commit checks every output so
 * before its journal, so that a group is renamed whole or not at all. */
int atomic_check_target(const char *path, int is_dir);

/* Takes an exclusive lock on the file lock_path (created if needed), waiting with one line on
 * stderr while another process holds it. Held until the process ends, which removes the file
 * (a SIGKILL leaves it behind, unlocked and harmless). Returns the descriptor, or -1 after an
 * error line. */
int atomic_lock(const char *lock_path);

#endif
