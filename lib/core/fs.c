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

int fs_remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0) return errno == ENOENT ? C_OK : C_ERR;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (!d) return C_ERR;
        struct dirent *e;
        char child[PATH_MAX];
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            snprintf(child, sizeof child, "%s/%s", path, e->d_name);
            fs_remove_tree(child);
        }
        closedir(d);
        return rmdir(path) == 0 ? C_OK : C_ERR;
    }
    return unlink(path) == 0 ? C_OK : C_ERR;
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
