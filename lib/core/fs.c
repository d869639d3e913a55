/* fs.c: mkdir -p and rm -rf on paths, with one-line errors. */
#include "core/fs.h"
#include "core/errors.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_MADE 16
static char made[MAX_MADE][PATH_MAX];   /* fixed storage: read in a signal handler */
static volatile int n_made;

/* mkdir that remembers a folder it created (not one that was there; not one inside a temporary,
 * which goes with its temporary). */
static int make_one(const char *dir)
{
    if (mkdir(dir, 0777) == 0) {
        if (n_made < MAX_MADE && !strstr(dir, ".tmp.")) {
            snprintf(made[n_made], sizeof made[0], "%s", dir);
            n_made++;
        }
        return C_OK;
    }
    return errno == EEXIST ? C_OK : err_msg(dir, "cannot create folder: %s", strerror(errno));
}

int fs_mkdir_p(const char *path)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return err_msg(path, "path too long");
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (make_one(buf) != C_OK) return C_ERR;
        *p = '/';
    }
    return make_one(buf);
}

void fs_remove_made_folders(void)
{
    for (int i = n_made - 1; i >= 0; i--) rmdir(made[i]);   /* a folder with anything in it stays */
    n_made = 0;
}

int fs_mkdir_parents(const char *path)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return err_msg(path, "path too long");
    char *slash = strrchr(buf, '/');
    if (!slash || slash == buf) return C_OK;
    *slash = '\0';
    return fs_mkdir_p(buf);
}

/* rm -rf of name in the folder dirfd with only async-signal-safe calls (unlinkat, openat,
 * getdents64, lseek, close; no malloc or opendir), so that core/atomic.c's signal handler can
 * remove a temporary folder as well as a file. 0 when name is gone. */
static int remove_at(int dirfd, const char *name, int depth)
{
    if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT) return 0;   /* a file, a link, ... */
    if (errno != EISDIR && errno != EPERM) return -1;                 /* a folder: EISDIR (POSIX: EPERM) */
    int fd = depth < 16 ? openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : -1;
    /* Removing entries while reading the folder may skip some: read it again until a pass
     * removes nothing (a few passes at most). */
    for (int pass = 0, removed = 1; fd >= 0 && removed && pass < 8; pass++) {
        char buf[2048] __attribute__((aligned(8)));
        long n;
        removed = 0;
        lseek(fd, 0, SEEK_SET);
        while ((n = getdents64(fd, buf, sizeof buf)) > 0)
            for (long at = 0; at < n;) {
                const struct dirent64 *e = (const struct dirent64 *)(buf + at);
                const char *c = e->d_name;
                at += e->d_reclen;
                if (c[0] == '.' && (!c[1] || (c[1] == '.' && !c[2]))) continue;
                if (remove_at(fd, c, depth + 1) == 0) removed = 1;
            }
    }
    if (fd >= 0) close(fd);
    return unlinkat(dirfd, name, AT_REMOVEDIR) == 0 || errno == ENOENT ? 0 : -1;
}

int fs_remove_tree(const char *path)
{
    return remove_at(AT_FDCWD, path, 0) == 0 ? C_OK : C_ERR;
}

const char *fs_kind_name(unsigned mode)
{
    switch (mode & S_IFMT) {
    case S_IFREG: return "a regular file";
    case S_IFDIR: return "a folder";
    case S_IFIFO: return "a FIFO";
    case S_IFSOCK: return "a socket";
    case S_IFCHR: return "a character device";
    case S_IFBLK: return "a block device";
    case S_IFLNK: return "a symbolic link";
    default: return "not a file";
    }
}

int fs_open_read(const char *path)
{
    /* O_NONBLOCK: opening a FIFO with no writer would wait forever otherwise */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        err_msg(path, "cannot open: %s", strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        err_msg(path, "cannot open: %s", strerror(e));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        err_msg(path, "is %s, not a regular file", fs_kind_name((unsigned)st.st_mode));
        return -1;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
        int e = errno;
        close(fd);
        err_msg(path, "cannot open: %s", strerror(e));
        return -1;
    }
    return fd;
}

FILE *fs_fopen_read(const char *path)
{
    int fd = fs_open_read(path);
    if (fd < 0) return NULL;
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        err_msg(path, "cannot open: %s", strerror(errno));
        close(fd);
    }
    return f;
}

int fs_check_regular(const char *path)
{
    int fd = fs_open_read(path);
    if (fd < 0) return C_ERR;
    close(fd);
    return C_OK;
}
