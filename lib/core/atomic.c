/* atomic.c: artifacts written as temporary -> fsync -> rename, removed if the process dies first. */
#include "core/atomic.h"
#include "core/errors.h"
#include "core/fs.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Pending temporaries, removed at exit or on SIGINT/SIGTERM. Fixed size: a stage has a handful
 * of outputs open at once, never more. */
#define MAX_PENDING 64
static struct { char *tmp; char *final; int is_dir; } pending[MAX_PENDING];
static int hooks_installed;

static void cleanup_pending(void)
{
    for (int i = 0; i < MAX_PENDING; i++) {
        if (!pending[i].tmp) continue;
        if (pending[i].is_dir) fs_remove_tree(pending[i].tmp);
        else unlink(pending[i].tmp);
    }
}

static void on_signal(int sig)
{
    cleanup_pending();
    signal(sig, SIG_DFL);
    raise(sig);
}

static void install_hooks(void)
{
    if (hooks_installed) return;
    hooks_installed = 1;
    atexit(cleanup_pending);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGHUP, on_signal);
}

/* Registers tmp (taking ownership) for cleanup; C_ERR when the table is full (tmp is then the
 * caller's to remove and free). */
static int pending_add(char *tmp, const char *final, int is_dir)
{
    install_hooks();
    for (int i = 0; i < MAX_PENDING; i++)
        if (!pending[i].tmp) {
            pending[i].final = xstrdup(final);
            pending[i].is_dir = is_dir;
            pending[i].tmp = tmp; /* last: the signal handler reads tmp */
            return C_OK;
        }
    return err_msg(final, "too many artifacts open at once");
}

static int pending_find(const char *final, int is_dir)
{
    for (int i = 0; i < MAX_PENDING; i++)
        if (pending[i].tmp && pending[i].is_dir == is_dir && !strcmp(pending[i].final, final))
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
}

static char *temp_name(const char *path)
{
    size_t n = strlen(path) + 32;
    char *tmp = xmalloc(n);
    snprintf(tmp, n, "%s.tmp.XXXXXX", path);
    return tmp;
}

int atomic_open(atomic_file *af, const char *path)
{
    memset(af, 0, sizeof *af);
    if (fs_mkdir_parents(path) != C_OK) return C_ERR;
    char *tmp = temp_name(path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        err_msg(path, "cannot create temporary file: %s", strerror(errno));
        free(tmp);
        return C_ERR;
    }
    fchmod(fd, 0644);
    af->fp = fdopen(fd, "wb");
    if (!af->fp) {
        close(fd);
        unlink(tmp);
        free(tmp);
        return err_msg(path, "cannot open temporary file: %s", strerror(errno));
    }
    if (pending_add(tmp, path, 0) != C_OK) {
        fclose(af->fp);
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
    int i = pending_find(af->path, 0);
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
    if (ferror(af->fp) || fflush(af->fp) != 0 || fsync(fileno(af->fp)) != 0)
        rc = err_msg(af->path, "write failed: %s", strerror(errno ? errno : EIO));
    if (fclose(af->fp) != 0 && rc == C_OK)
        rc = err_msg(af->path, "write failed: %s", strerror(errno));
    af->fp = NULL;
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
    char *tmp = temp_name(path);
    if (!mkdtemp(tmp)) {
        err_msg(path, "cannot create temporary folder: %s", strerror(errno));
        free(tmp);
        return C_ERR;
    }
    chmod(tmp, 0755);
    if (pending_add(tmp, path, 1) != C_OK) {
        rmdir(tmp);
        free(tmp);
        return C_ERR;
    }
    *tmp_dir = tmp;
    return C_OK;
}

int atomic_dir_commit(const char *path)
{
    int i = pending_find(path, 1);
    if (i < 0) return err_msg(path, "folder was not opened for writing");
    /* Move the old folder aside first: rename() cannot replace a non-empty directory. */
    char *old = temp_name(path);
    int had_old = access(path, F_OK) == 0;
    if (had_old && rename(path, old) != 0) {
        free(old);
        return err_msg(path, "cannot replace folder: %s", strerror(errno));
    }
    if (rename(pending[i].tmp, path) != 0) {
        int e = errno;
        if (had_old) rename(old, path);
        free(old);
        return err_msg(path, "cannot rename temporary folder: %s", strerror(e));
    }
    pending_drop(i);
    if (had_old) fs_remove_tree(old);
    free(old);
    return C_OK;
}

void atomic_dir_abort(const char *path)
{
    int i = pending_find(path, 1);
    if (i < 0) return;
    fs_remove_tree(pending[i].tmp);
    pending_drop(i);
}
