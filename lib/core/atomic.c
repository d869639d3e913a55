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

/* Test hook for the kill-and-resume tests: CIFAR_TEST_KILL=POINT:SUFFIX:N sends SIGKILL to the
 * process the N-th time POINT is reached for a path ending in SUFFIX. POINT "rename": a temporary
 * is written and fsync'd but not renamed yet; "journal": a group's journal is in place and none
 * of its renames done. */
static void test_kill_point(const char *point, const char *path)
{
    static int count;
    const char *spec = getenv("CIFAR_TEST_KILL");
    if (!spec) return;
    size_t pl = strlen(point), n = strlen(path);
    if (strncmp(spec, point, pl) || spec[pl] != ':') return;
    const char *suffix = spec + pl + 1, *colon = strrchr(suffix, ':');
    if (!colon) return;
    size_t sl = (size_t)(colon - suffix);
    if (n < sl || strncmp(path + n - sl, suffix, sl)) return;
    if (++count == atoi(colon + 1)) kill(getpid(), SIGKILL);
}

/* Lock files of this process (atomic_lock), removed when it ends: at exit, or by a signal. */
#define MAX_LOCKS 4
static char *locks[MAX_LOCKS];

/* walk_dirs: 0 in a signal handler, where opendir and malloc are unsafe; a temporary folder left
 * then is removed by the next run's atomic_clean_stale (its lock died with the process). */
static void cleanup_pending_dirs(int walk_dirs)
{
    for (int i = 0; i < MAX_LOCKS; i++)
        if (locks[i]) unlink(locks[i]);   /* still held: a waiter sees the name gone and retries */
    for (int i = 0; i < MAX_PENDING; i++) {
        if (!pending[i].tmp || pending[i].state == P_JOURNALED) continue;
        if (!pending[i].is_dir) unlink(pending[i].tmp);
        else if (walk_dirs) fs_remove_tree(pending[i].tmp);
    }
}
static void cleanup_at_exit(void) { cleanup_pending_dirs(1); }
static void cleanup_in_handler(void) { cleanup_pending_dirs(0); }

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

int atomic_commit(atomic_file *af)
{
    int rc = C_OK;
    /* ferror catches an earlier failed fwrite (disk full) that the caller did not check. */
    errno = 0;
    if (ferror(af->fp) || fflush(af->fp) != 0 || fsync(fileno(af->fp)) != 0)
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
        int fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0) {
            err_msg(lock_path, "cannot open lock file: %s", strerror(errno));
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

int atomic_recover(const char *journal)
{
    FILE *f = fopen(journal, "r");
    if (!f) return errno == ENOENT ? C_OK : err_msg(journal, "cannot open: %s", strerror(errno));
    char line[2 * PATH_MAX + 8];
    int rc = C_OK, n = 0;
    while (rc == C_OK && fgets(line, sizeof line, f)) {
        char *nl = strchr(line, '\n');
        char *t1 = strchr(line, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
        if (!nl || !t2 || (line[0] != 'F' && line[0] != 'D') || t1 != line + 1) {
            rc = err_msg(journal, "line %d: not a commit journal line", n + 1);
            break;
        }
        *nl = *t1 = *t2 = '\0';
        rc = apply_entry(line[0] == 'D', t1 + 1, t2 + 1);
        if (rc == C_OK) fsync_parent(t2 + 1);
        n++;
    }
    fclose(f);
    if (rc != C_OK) return C_ERR;
    unlink(journal);
    fsync_parent(journal);
    fprintf(stderr, "%s: %s: finished the commit of %d outputs a stopped run had begun\n", err_stage(), journal, n);
    return C_OK;
}
