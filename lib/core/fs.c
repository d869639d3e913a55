/* fs.c: mkdir -p and rm -rf on paths, with one-line errors. */
#include "core/fs.h"
#include "core/errors.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int fs_mkdir_p(const char *path)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return err_msg(path, "path too long");
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return err_msg(buf, "cannot create folder: %s", strerror(errno));
        *p = '/';
    }
    if (mkdir(buf, 0777) != 0 && errno != EEXIST)
        return err_msg(buf, "cannot create folder: %s", strerror(errno));
    return C_OK;
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
