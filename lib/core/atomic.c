/* atomic.c: artifacts written as locked temporary -> fsync -> rename, alone or as a group. */
#include "core/atomic.h"
#include "core/errors.h"
#include "core/fs.h"
#include "core/signals.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* Pending temporaries, removed at exit or on a signal. Fixed size: a stage has a handful of
 * outputs open at once, never more. state: open -> finished (group member, waiting) ->
 * journaled (listed in a journal: the next run renames it, so nobody removes it). */
#define MAX_PENDING 64
enum { P_OPEN, P_FINISHED, P_JOURNALED };
static struct { char *tmp; char *final; int is_dir, lock_fd; volatile int state; } pending[MAX_PENDING];
static int hooks_installed;
static char *group_journal;   /* non-NULL: in a group */

/* Test hook for the kill-and-resume tests: CIFAR_TEST_KILL=POINT:SUFFIX:N[:SIG] sends SIGKILL (or
 * signal number SIG) to the process the N-th time POINT is reached for a path ending in SUFFIX.
 * POINT "rename": a temporary is written and fsync'd but not renamed yet; "journal": a group's
 * journal is in place and none of its renames done. */
static void test_kill_point(const char *point, const char *path)
{
    static int count;
    const char *spec = getenv("CIFAR_TEST_KILL");
    if (!spec) return;
    size_t pl = strlen(point), n = strlen(path);
    if (strncmp(spec, point, pl) || spec[pl] != ':') return;
    const char *suffix = spec + pl + 1, *colon = strchr(suffix, ':');
    if (!colon) return;
    size_t sl = (size_t)(colon - suffix);
    if (n < sl || strncmp(path + n - sl, suffix, sl)) return;
    const char *sig = strchr(colon + 1, ':');
    if (++count == atoi(colon + 1)) kill(getpid(), sig ? atoi(sig + 1) : SIGKILL);
}

/* Lock files of this process (atomic_lock), removed when it ends: at exit, or by a signal. */
#define MAX_LOCKS 4
static char *locks[MAX_LOCKS];

/* At exit and in a signal handler (fs_remove_tree is async-signal-safe): temporaries and lock
 * files go; a failing exit or a signal also removes the folders the stage made that are empty
 * now. */
static void cleanup_pending(int in_handler)
{
    for (int i = 0; i < MAX_LOCKS; i++)
        if (locks[i]) unlink(locks[i]);   /* still held: a waiter sees the name gone and retries */
    for (int i = 0; i < MAX_PENDING; i++) {
        if (!pending[i].tmp || pending[i].state == P_JOURNALED) continue;
        if (!pending[i].is_dir) unlink(pending[i].tmp);
        else fs_remove_tree(pending[i].tmp);
    }
    if (in_handler || err_failing()) fs_remove_made_folders();
}
static void cleanup_at_exit(void) { cleanup_pending(0); }
static void cleanup_in_handler(void) { cleanup_pending(1); }

static void install_hooks(void)
{
    if (hooks_installed) return;
    hooks_installed = 1;
    atexit(cleanup_at_exit);
    signals_install(cleanup_in_handler);
}

/* Registers tmp (taking ownership) and its lock descriptor for cleanup; C_ERR when the table is
 * full (tmp is then the caller's to remove and free). */
static int pending_add(char *tmp, const char *final, int is_dir, int lock_fd)
{
    install_hooks();
    for (int i = 0; i < MAX_PENDING; i++)
        if (!pending[i].tmp) {
            pending[i].final = xstrdup(final);
            pending[i].is_dir = is_dir;
            pending[i].lock_fd = lock_fd;
            pending[i].state = P_OPEN;
            pending[i].tmp = tmp; /* last: the signal handler reads tmp */
            return C_OK;
        }
    return err_msg(final, "too many artifacts open at once");
}

static int pending_find(const char *final, int is_dir, int state)
{
    for (int i = 0; i < MAX_PENDING; i++)
        if (pending[i].tmp && pending[i].is_dir == is_dir && pending[i].state == state &&
            !strcmp(pending[i].final, final))
            return i;
    return -1;
}

static void pending_drop(int i)
{
    char *tmp = pending[i].tmp;
    pending[i].tmp = NULL;
    free(tmp);
    free(pending[i].final);
    pending[i].final = NULL;
    if (pending[i].lock_fd >= 0) close(pending[i].lock_fd);   /* releases the lock */
    pending[i].lock_fd = -1;
}

static char *temp_name(const char *path)
{
    size_t n = strlen(path) + 32;
    char *tmp = xmalloc(n);
    snprintf(tmp, n, "%s.tmp.XXXXXX", path);
    return tmp;
}

/* Locks the freshly made temporary fd refers to and checks that tmp still names it: a cleaner
 * may have taken it for stale between mkstemp and flock. 1: locked and ours; 0: gone, retry. */
static int lock_fresh(int fd, const char *tmp)
{
    while (flock(fd, LOCK_EX) != 0)
        if (errno != EINTR) return 0;
    struct stat a, b;
    return fstat(fd, &a) == 0 && lstat(tmp, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

void atomic_clean_stale(const char *path)
{
    char dir[PATH_MAX];
    if (snprintf(dir, sizeof dir, "%s", path) >= (int)sizeof dir) return;
    char *slash = strrchr(dir, '/');
    const char *base = slash ? slash + 1 : path;
    if (slash == dir) dir[1] = '\0';
    else if (slash) *slash = '\0';
    else snprintf(dir, sizeof dir, ".");
    size_t blen = strlen(base);
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        /* exactly `<base>.tmp.` and the six characters of mkstemp */
        if (strncmp(e->d_name, base, blen) || strncmp(e->d_name + blen, ".tmp.", 5) || strlen(e->d_name + blen + 5) != 6)
            continue;
        int fd = openat(dirfd(d), e->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0) continue;
        struct stat a, b;
        if (flock(fd, LOCK_EX | LOCK_NB) == 0 && fstat(fd, &a) == 0 &&
            fstatat(dirfd(d), e->d_name, &b, AT_SYMLINK_NOFOLLOW) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev) {
            char full[PATH_MAX + 260];
            snprintf(full, sizeof full, "%s/%s", dir, e->d_name);
            fs_remove_tree(full);   /* its writer is gone: nobody else holds the lock */
        }
        close(fd);
    }
    closedir(d);
}

int atomic_open(atomic_file *af, const char *path)
{
    memset(af, 0, sizeof *af);
    if (fs_mkdir_parents(path) != C_OK) return C_ERR;
    atomic_clean_stale(path);
    char *tmp = temp_name(path);
    int fd, lock_fd;
    for (;;) {
        snprintf(tmp + strlen(path), 32, ".tmp.XXXXXX");
        fd = mkstemp(tmp);
        if (fd < 0) {
            err_msg(path, "cannot create temporary file: %s", strerror(errno));
            free(tmp);
            return C_ERR;
        }
        if (lock_fresh(fd, tmp)) break;
        close(fd);
    }
    fchmod(fd, 0644);
    lock_fd = dup(fd);   /* keeps the lock after the FILE is closed, until the rename */
    af->fp = lock_fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (!af->fp) {
        int e = errno;
        close(fd);
        if (lock_fd >= 0) close(lock_fd);
        unlink(tmp);
        free(tmp);
        return err_msg(path, "cannot open temporary file: %s", strerror(e));
    }
    if (pending_add(tmp, path, 0, lock_fd) != C_OK) {
        fclose(af->fp);
        close(lock_fd);
        unlink(tmp);
        free(tmp);
        memset(af, 0, sizeof *af);
        return C_ERR;
    }
    af->path = xstrdup(path);
    af->tmp_path = xstrdup(tmp);
    return C_OK;
}

static void release(atomic_file *af)
{
    int i = pending_find(af->path, 0, P_OPEN);
    if (i >= 0) pending_drop(i);
    free(af->path);
    free(af->tmp_path);
    memset(af, 0, sizeof *af);
}

void atomic_abort(atomic_file *af)
{
    if (!af->path) return;
    if (af->fp) fclose(af->fp);
    unlink(af->tmp_path);
    release(af);
}

/* The reason an earlier write of fp failed. stdio keeps only the error flag, and the errno of
 * that write is long overwritten when a caller that did not check its fprintf calls commit, so
 * the file system is asked again: one byte written at the end of the temporary (which is removed
 * anyway) fails for the same reason while it lasts (ENOSPC, EDQUOT, EFBIG, EIO). EIO when it
 * succeeds now: the reason is gone. */
static int earlier_write_errno(FILE *fp)
{
    int fd = fileno(fp);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) return EIO;
    errno = 0;
    if (pwrite(fd, "", 1, st.st_size) == 1) return EIO;
    return errno ? errno : EIO;
}

int atomic_commit(atomic_file *af)
{
    int rc = C_OK;
    /* ferror catches an earlier failed fwrite (disk full) that the caller did not check. */
    if (ferror(af->fp)) rc = err_msg(af->path, "write failed: %s", strerror(earlier_write_errno(af->fp)));
    else if (fflush(af->fp) != 0 || fsync(fileno(af->fp)) != 0)
        rc = err_msg(af->path, "write failed: %s", strerror(errno ? errno : EIO));
    if (fclose(af->fp) != 0 && rc == C_OK)
        rc = err_msg(af->path, "write failed: %s", strerror(errno));
    af->fp = NULL;
    if (rc == C_OK) test_kill_point("rename", af->path);
    if (rc == C_OK && group_journal) {
        /* the group renames it; until then it stays registered (and locked) */
        int i = pending_find(af->path, 0, P_OPEN);
        if (i >= 0) pending[i].state = P_FINISHED;
        free(af->path);
        free(af->tmp_path);
        memset(af, 0, sizeof *af);
        return C_OK;
    }
    if (rc == C_OK && rename(af->tmp_path, af->path) != 0)
        rc = err_msg(af->path, "cannot rename temporary file: %s", strerror(errno));
    if (rc != C_OK) unlink(af->tmp_path);
    release(af);
    return rc;
}

int atomic_write(const char *path, const void *data, size_t len)
{
    atomic_file af;
    if (atomic_open(&af, path) != C_OK) return C_ERR;
    if (len && fwrite(data, 1, len, af.fp) != len) {
        int e = errno;
        atomic_abort(&af);
        return err_msg(path, "write failed: %s", strerror(e));
    }
    return atomic_commit(&af);
}

int atomic_dir_open(const char *path, const char **tmp_dir)
{
    if (fs_mkdir_parents(path) != C_OK) return C_ERR;
    atomic_clean_stale(path);
    char *tmp = temp_name(path);
    int fd;
    for (;;) {
        snprintf(tmp + strlen(path), 32, ".tmp.XXXXXX");
        if (!mkdtemp(tmp)) {
            err_msg(path, "cannot create temporary folder: %s", strerror(errno));
            free(tmp);
            return C_ERR;
        }
        fd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
            err_msg(path, "cannot open temporary folder: %s", strerror(errno));
            rmdir(tmp);
            free(tmp);
            return C_ERR;
        }
        if (lock_fresh(fd, tmp)) break;
        close(fd);
    }
    chmod(tmp, 0755);
    if (pending_add(tmp, path, 1, fd) != C_OK) {
        close(fd);
        rmdir(tmp);
        free(tmp);
        return C_ERR;
    }
    *tmp_dir = tmp;
    return C_OK;
}

/* Replaces the folder path by tmp: the old one (if any) is locked, moved aside under a
 * temporary name (rename() cannot replace a non-empty directory) and removed. */
static int swap_dir(const char *tmp, const char *path)
{
    int old_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    char *old = NULL;
    if (old_fd >= 0) {
        flock(old_fd, LOCK_EX);   /* so a cleaner leaves it to us while we remove it */
        old = temp_name(path);
        if (!mkdtemp(old) || rename(path, old) != 0) {
            int e = errno;
            close(old_fd);
            free(old);
            return err_msg(path, "cannot replace folder: %s", strerror(e));
        }
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        if (old) rename(old, path);
        if (old_fd >= 0) close(old_fd);
        free(old);
        return err_msg(path, "cannot rename temporary folder: %s", strerror(e));
    }
    if (old) fs_remove_tree(old);
    if (old_fd >= 0) close(old_fd);
    free(old);
    return C_OK;
}

int atomic_dir_commit(const char *path)
{
    int i = pending_find(path, 1, P_OPEN);
    if (i < 0) return err_msg(path, "folder was not opened for writing");
    if (group_journal) {
        pending[i].state = P_FINISHED;
        return C_OK;
    }
    if (swap_dir(pending[i].tmp, path) != C_OK) return C_ERR;
    pending_drop(i);
    return C_OK;
}

void atomic_dir_abort(const char *path)
{
    int i = pending_find(path, 1, P_OPEN);
    if (i < 0) return;
    fs_remove_tree(pending[i].tmp);
    pending_drop(i);
}

int atomic_lock(const char *lock_path)
{
    if (fs_mkdir_parents(lock_path) != C_OK) return -1;
    int slot = -1;
    for (int i = 0; i < MAX_LOCKS && slot < 0; i++)
        if (!locks[i]) slot = i;
    if (slot < 0) {
        err_msg(lock_path, "too many locks held at once");
        return -1;
    }
    install_hooks();
    int said = 0;
    for (;;) {
        /* O_NOFOLLOW, O_NONBLOCK: a link, a folder or a FIFO there is refused, never waited on */
        int fd = open(lock_path, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
        struct stat ls;
        if (fd < 0 && (errno == EISDIR || errno == ELOOP || errno == ENXIO) && lstat(lock_path, &ls) == 0) {
            err_msg(lock_path, "is %s, not a lock file; remove it", fs_kind_name((unsigned)ls.st_mode));
            return -1;
        }
        if (fd < 0) {
            err_msg(lock_path, "cannot open lock file: %s", strerror(errno));
            return -1;
        }
        if (fstat(fd, &ls) != 0 || !S_ISREG(ls.st_mode)) {
            err_msg(lock_path, "is %s, not a lock file; remove it", fs_kind_name((unsigned)ls.st_mode));
            close(fd);
            return -1;
        }
        if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            if (!said++) fprintf(stderr, "%s: %s: waiting for another run holding this lock\n", err_stage(), lock_path);
            while (flock(fd, LOCK_EX) != 0)
                if (errno != EINTR) {
                    err_msg(lock_path, "cannot lock: %s", strerror(errno));
                    close(fd);
                    return -1;
                }
        }
        /* The holder removes the file before it lets go: a lock on a name that is gone (or now
         * names a newer file) is no lock; take the current one. */
        struct stat a, b;
        if (fstat(fd, &a) == 0 && stat(lock_path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
            locks[slot] = xstrdup(lock_path);
            return fd;
        }
        close(fd);
    }
}

/* ---- groups ---- */

int atomic_group_begin(const char *journal)
{
    if (group_journal) return err_msg(journal, "a commit group is already open");
    group_journal = xstrdup(journal);
    return C_OK;
}

/* path with its folder made absolute, so a journal works from any working directory. */
static char *absolute(const char *path)
{
    char dir[PATH_MAX], real[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    const char *base = slash ? slash + 1 : path;
    if (slash == dir) snprintf(dir, sizeof dir, "/");
    else if (slash) *slash = '\0';
    else snprintf(dir, sizeof dir, ".");
    if (!realpath(dir, real)) return NULL;
    size_t n = strlen(real) + strlen(base) + 2;
    char *out = xmalloc(n);
    snprintf(out, n, "%s/%s", strcmp(real, "/") ? real : "", base);
    return out;
}

static void fsync_parent(const char *path)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == dir) dir[1] = '\0';
    else if (slash) *slash = '\0';
    else snprintf(dir, sizeof dir, ".");
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/* One journal line: `F|D <tab> temporary <tab> final`. Renames it unless it already happened
 * (the temporary is gone). */
static int apply_entry(int is_dir, const char *tmp, const char *final)
{
    struct stat st;
    if (lstat(tmp, &st) != 0) return C_OK;   /* renamed before the crash */
    if (is_dir) return swap_dir(tmp, final);
    if (rename(tmp, final) != 0) return err_msg(final, "cannot rename temporary file: %s", strerror(errno));
    return C_OK;
}

int atomic_group_commit(void)
{
    if (!group_journal) return err_msg(NULL, "atomic_group_commit without atomic_group_begin");
    char *journal = group_journal;
    group_journal = NULL;   /* the journal itself is an ordinary atomic write */
    size_t cap = 256, len = 0;
    char *text = xmalloc(cap);
    text[0] = '\0';
    int rc = C_OK;
    for (int i = 0; i < MAX_PENDING && rc == C_OK; i++) {
        if (!pending[i].tmp || pending[i].state != P_FINISHED) continue;
        char *t = absolute(pending[i].tmp), *f = absolute(pending[i].final);
        if (!t || !f) rc = err_msg(pending[i].final, "cannot resolve the folder: %s", strerror(errno));
        else {
            size_t need = strlen(t) + strlen(f) + 8;
            while (len + need >= cap) text = xrealloc(text, cap *= 2);
            len += (size_t)snprintf(text + len, cap - len, "%c\t%s\t%s\n", pending[i].is_dir ? 'D' : 'F', t, f);
        }
        free(t);
        free(f);
    }
    /* Every output checked before the journal: a folder where a file goes (or the reverse) would
     * fail its rename after the others were done. */
    for (int i = 0; i < MAX_PENDING && rc == C_OK; i++)
        if (pending[i].tmp && pending[i].state == P_FINISHED) rc = atomic_check_target(pending[i].final, pending[i].is_dir);
    /* Journaled before the journal exists: from here on no signal or exit removes them. */
    for (int i = 0; i < MAX_PENDING && rc == C_OK; i++)
        if (pending[i].tmp && pending[i].state == P_FINISHED) pending[i].state = P_JOURNALED;
    if (rc == C_OK && atomic_write(journal, text, len) != C_OK) rc = C_ERR;
    if (rc != C_OK) {
        /* no journal: the group never happened; its temporaries go */
        for (int i = 0; i < MAX_PENDING; i++)
            if (pending[i].tmp && pending[i].state != P_OPEN) {
                pending[i].state = P_FINISHED;
                if (pending[i].is_dir) fs_remove_tree(pending[i].tmp);
                else unlink(pending[i].tmp);
                pending_drop(i);
            }
        free(text);
        free(journal);
        return C_ERR;
    }
    fsync_parent(journal);
    test_kill_point("journal", journal);
    /* From here the group is committed: a failure below is finished by atomic_recover. */
    for (int i = 0; i < MAX_PENDING && rc == C_OK; i++)
        if (pending[i].tmp && pending[i].state == P_JOURNALED)
            rc = apply_entry(pending[i].is_dir, pending[i].tmp, pending[i].final);
    for (int i = 0; i < MAX_PENDING && rc == C_OK; i++)
        if (pending[i].tmp && pending[i].state == P_JOURNALED) fsync_parent(pending[i].final);
    if (rc == C_OK) {
        unlink(journal);
        fsync_parent(journal);
    }
    for (int i = 0; i < MAX_PENDING; i++)
        if (pending[i].tmp && pending[i].state == P_JOURNALED) pending_drop(i);
    free(text);
    free(journal);
    return rc;
}

void atomic_group_abort(void)
{
    free(group_journal);
    group_journal = NULL;
    for (int i = 0; i < MAX_PENDING; i++)
        if (pending[i].tmp && pending[i].state == P_FINISHED) {
            if (pending[i].is_dir) fs_remove_tree(pending[i].tmp);
            else unlink(pending[i].tmp);
            pending_drop(i);
        }
}

/* ---- rolling a journal forward ---- */

/* 1 when path is absolute with no empty, "." or ".." component (what `absolute` writes). */
static int plain_absolute(const char *path)
{
    if (path[0] != '/') return 0;
    for (const char *c = path + 1;;) {
        const char *e = strchr(c, '/');
        size_t n = e ? (size_t)(e - c) : strlen(c);
        if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.')) return 0;
        if (!e) return 1;
        c = e + 1;
    }
}

/* The folder part of an absolute path, "/" for a file at the root. */
static void dir_part(const char *path, char *out, size_t cap)
{
    snprintf(out, cap, "%s", path);
    char *slash = strrchr(out, '/');
    if (slash == out) out[1] = '\0';
    else if (slash) *slash = '\0';
}

int atomic_check_target(const char *path, int is_dir)
{
    struct stat st;
    if (lstat(path, &st) != 0) return errno == ENOENT ? C_OK : err_msg(path, "cannot check the output: %s", strerror(errno));
    if (is_dir ? S_ISDIR(st.st_mode) : !S_ISDIR(st.st_mode)) return C_OK;
    return err_msg(path, "is %s, where this %s is to be written; remove or rename it", fs_kind_name((unsigned)st.st_mode),
                   is_dir ? "folder" : "file");
}

/* Checks one journal line against what a commit of this stage writes: the rename of a temporary
 * `<final>.tmp.XXXXXX` of the final's own folder (plain absolute paths, the folder free of
 * symbolic links) into one of the declared outputs (outs, absolute; NULL: any path under the
 * journal's folder jdir), the temporary a file (F) or a folder (D) and not a link. Returns NULL
 * when it is fine, else what is wrong. */
static const char *entry_refusal(int is_dir, const char *tmp, const char *final, char *const *outs, int n_outs,
                                 const char *jdir)
{
    char td[PATH_MAX], fd[PATH_MAX], real[PATH_MAX];
    if (strlen(tmp) >= PATH_MAX || strlen(final) >= PATH_MAX) return "path too long";
    if (!plain_absolute(tmp) || !plain_absolute(final)) return "not a plain absolute path";
    dir_part(tmp, td, sizeof td);
    dir_part(final, fd, sizeof fd);
    if (strcmp(td, fd)) return "the temporary is not in the output's folder";
    if (!realpath(fd, real) || strcmp(real, fd)) return "the output's folder is not a plain folder (missing or reached by a link)";
    const char *fb = final + strlen(fd) + (strcmp(fd, "/") ? 1 : 0), *tb = tmp + strlen(td) + (strcmp(td, "/") ? 1 : 0);
    size_t fl = strlen(fb);
    if (strncmp(tb, fb, fl) || strncmp(tb + fl, ".tmp.", 5) || strlen(tb + fl + 5) != 6) return "not a temporary of that output";
    for (const char *c = tb + fl + 5; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9')))
            return "not a temporary of that output";
    int declared = 0;
    if (outs) {
        for (int k = 0; k < n_outs && !declared; k++) declared = outs[k] && !strcmp(outs[k], final);
    } else {
        size_t jl = strlen(jdir);
        declared = !strncmp(final, jdir, jl) && final[jl] == '/';
    }
    if (!declared) return "not an output of this stage";
    struct stat st;
    if (lstat(tmp, &st) == 0) {
        if (is_dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode))
            return is_dir ? "the temporary is not a folder" : "the temporary is not a regular file";
    } else if (errno != ENOENT) {
        return "the temporary cannot be checked";
    }
    if (lstat(final, &st) == 0 && (is_dir ? !S_ISDIR(st.st_mode) : S_ISDIR(st.st_mode)))
        return is_dir ? "the output is not a folder" : "the output is a folder";
    return NULL;
}

#define MAX_JOURNAL_LINES MAX_PENDING
/* A checked line kept as "F\0tmp\0final\0". */
static const char *line_tmp(const char *l) { return l + 2; }
static const char *line_final(const char *l) { return l + 2 + strlen(l + 2) + 1; }

int atomic_recover_outputs(const char *journal, const char *const *outputs, int n_outputs)
{
    struct stat st;
    if (lstat(journal, &st) != 0) return errno == ENOENT ? C_OK : err_msg(journal, "cannot open: %s", strerror(errno));
    FILE *f = fs_fopen_read(journal);
    if (!f) return C_ERR;
    char jdir[PATH_MAX];
    char *jabs = absolute(journal);
    if (!jabs) {
        fclose(f);
        return err_msg(journal, "cannot resolve the folder: %s", strerror(errno));
    }
    dir_part(jabs, jdir, sizeof jdir);
    free(jabs);
    char **outs = NULL;
    if (outputs) {
        outs = xcalloc((size_t)n_outputs + 1, sizeof *outs);
        for (int k = 0; k < n_outputs; k++) outs[k] = absolute(outputs[k]);   /* NULL: its folder is missing */
    }
    /* Every line is read and checked before the first rename: all of them, or none. */
    char *lines[MAX_JOURNAL_LINES];
    int n = 0, rc = C_OK;
    char line[2 * PATH_MAX + 8];
    while (rc == C_OK && fgets(line, sizeof line, f)) {
        char *nl = strchr(line, '\n');
        char *t1 = strchr(line, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
        if (!nl || !t2 || (line[0] != 'F' && line[0] != 'D') || t1 != line + 1 || strchr(t2 + 1, '\t') ||
            memchr(line, '\0', (size_t)(nl - line))) {
            rc = err_msg(journal, "line %d: not a commit journal line; left for a person to inspect", n + 1);
            break;
        }
        if (n == MAX_JOURNAL_LINES) {
            rc = err_msg(journal, "more than %d lines; left for a person to inspect", MAX_JOURNAL_LINES);
            break;
        }
        *nl = *t1 = *t2 = '\0';
        const char *why = entry_refusal(line[0] == 'D', t1 + 1, t2 + 1, outs, n_outputs, jdir);
        for (int k = 0; k < n && !why; k++)
            if (!strcmp(line_final(lines[k]), t2 + 1)) why = "the output is listed twice";
        if (why) {
            rc = err_msg(journal, "line %d: refusing to rename %s to %s: %s; nothing renamed, the journal is left for a "
                         "person to inspect", n + 1, t1 + 1, t2 + 1, why);
            break;
        }
        /* kept as "F\0tmp\0final\0" */
        size_t len = (size_t)(nl - line) + 1;
        lines[n] = xmalloc(len);
        memcpy(lines[n], line, len);
        n++;
    }
    if (rc == C_OK && ferror(f)) rc = err_msg(journal, "read failed");
    fclose(f);
    for (int i = 0; i < n && rc == C_OK; i++) {
        const char *tmp = line_tmp(lines[i]), *final = line_final(lines[i]);
        rc = apply_entry(lines[i][0] == 'D', tmp, final);
        if (rc == C_OK) fsync_parent(final);
    }
    for (int i = 0; i < n; i++) free(lines[i]);
    if (outs)
        for (int k = 0; k < n_outputs; k++) free(outs[k]);
    free(outs);
    if (rc != C_OK) return C_ERR;
    unlink(journal);
    fsync_parent(journal);
    fprintf(stderr, "%s: %s: finished the commit of %d outputs a stopped run had begun\n", err_stage(), journal, n);
    return C_OK;
}

int atomic_recover(const char *journal) { return atomic_recover_outputs(journal, NULL, 0); }
