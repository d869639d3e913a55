/* fs.h: folder helpers (mkdir -p, rm -rf) for artifacts and temporaries. */
#ifndef FS_H
#define FS_H

/* mkdir -p for the folders above path (not path itself). */
int fs_mkdir_parents(const char *path);
/* mkdir -p for path itself. */
int fs_mkdir_p(const char *path);
/* rm -rf; C_OK when path is gone afterwards. */
int fs_remove_tree(const char *path);

#endif
