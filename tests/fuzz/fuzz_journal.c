/* fuzz_journal.c: libFuzzer harness for the commit journal `<arch>.commit` (core/atomic.c's
 * atomic_recover_outputs), on a real folder: any journal gives C_OK or one line and C_ERR, never
 * a crash, and never a rename outside what a commit of the stage makes. Each input runs in a
 * fresh private folder under /dev/shm (its path replaces every "@D" of the input, so seeds can
 * name it) holding the outputs x.ckpt ("old") and x.metrics.json, their temporaries
 * x.ckpt.tmp.AbC123 ("new") and x.metrics.json.tmp.AbC123, a file victim, a link
 * x.ckpt.tmp.LnK123 -> victim and a folder sub/. Checked after every input: victim is still there
 * and unchanged, sub/ too, no new name appeared, and a refused journal (C_ERR) is left in place
 * with nothing renamed. */
#include <dirent.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/atomic.h"
#include "core/fs.h"
#include "fuzz/fuzz_input.h"

static char root[64], path_buf[PATH_MAX];

static const char *at(const char *name)
{
    snprintf(path_buf, sizeof path_buf, "%s/%s", root, name);
    return path_buf;
}

static void put(const char *name, const char *text)
{
    FILE *f = fopen(at(name), "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) abort();
}

static int is(const char *name, const char *text)
{
    char buf[64];
    FILE *f = fopen(at(name), "r");
    if (!f) return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return !strcmp(buf, text);
}

static void cleanup(void) { if (root[0]) fs_remove_tree(root); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!root[0]) {
        snprintf(root, sizeof root, "/dev/shm/fuzz_journal.XXXXXX");
        if (!mkdtemp(root)) abort();
        char real[PATH_MAX];
        if (!realpath(root, real) || strlen(real) >= sizeof root) abort();
        snprintf(root, sizeof root, "%s", real);
        atexit(cleanup);
    }
    /* a fresh folder */
    fs_remove_tree(root);
    if (mkdir(root, 0700) != 0 || mkdir(at("sub"), 0700) != 0) abort();
    put("x.ckpt", "old");
    put("x.ckpt.tmp.AbC123", "new");
    put("x.metrics.json.tmp.AbC123", "metrics");
    put("victim", "victim");
    put("sub/inner", "inner");
    char victim[PATH_MAX];
    snprintf(victim, sizeof victim, "%s", at("victim"));
    if (symlink(victim, at("x.ckpt.tmp.LnK123")) != 0) abort();
    /* the journal: the input with "@D" replaced by the folder */
    size_t rl = strlen(root), cap = size * (rl + 1) + 1, n = 0;
    char *text = malloc(cap);
    if (!text) abort();
    for (size_t i = 0; i < size; i++) {
        if (i + 1 < size && data[i] == '@' && data[i + 1] == 'D') {
            memcpy(text + n, root, rl);
            n += rl;
            i++;
        } else {
            text[n++] = (char)data[i];
        }
    }
    FILE *j = fopen(at("x.commit"), "wb");
    if (!j || (n && fwrite(text, 1, n, j) != n) || fclose(j) != 0) abort();
    free(text);
    char journal[PATH_MAX], o1[PATH_MAX], o2[PATH_MAX];
    snprintf(journal, sizeof journal, "%s/x.commit", root);
    snprintf(o1, sizeof o1, "%s/x.ckpt", root);
    snprintf(o2, sizeof o2, "%s/x.metrics.json", root);
    const char *outs[] = { o1, o2 };
    int rc = atomic_recover_outputs(journal, outs, 2);
    /* the oracle */
    struct stat st;
    if (!is("victim", "victim") || !is("sub/inner", "inner")) abort();
    if (lstat(at("x.ckpt"), &st) != 0 || !S_ISREG(st.st_mode)) abort();   /* never a link or folder */
    if (rc != 0) {
        if (access(journal, F_OK) != 0 || !is("x.ckpt", "old") || !is("x.ckpt.tmp.AbC123", "new") ||
            !is("x.metrics.json.tmp.AbC123", "metrics"))
            abort();
    } else if (access(journal, F_OK) == 0) {
        abort();
    }
    static const char *const allowed[] = { ".", "..", "x.ckpt", "x.metrics.json", "x.ckpt.tmp.AbC123",
                                           "x.metrics.json.tmp.AbC123", "x.ckpt.tmp.LnK123", "victim", "sub",
                                           "x.commit" };
    DIR *d = opendir(root);
    if (!d) abort();
    struct dirent *e;
    while ((e = readdir(d))) {
        int ok = 0;
        for (size_t k = 0; k < sizeof allowed / sizeof *allowed && !ok; k++) ok = !strcmp(e->d_name, allowed[k]);
        if (!ok) abort();
    }
    closedir(d);
    return 0;
}
