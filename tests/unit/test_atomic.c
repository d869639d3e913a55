/* Atomic artifact writes: commit replaces, abort and exit leave nothing half-written. */
#include "core/atomic.h"
#include "core/fs.h"
#include "core/errors.h"
#include "test.h"
#include "test_stderr.h"

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[256];

static int count_entries(const char *path)
{
    DIR *d = opendir(path);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

static int read_file(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    int n = (int)fread(buf, 1, cap - 1, f);
    fclose(f);
    buf[n] = '\0';
    return n;
}

static void commit_writes_and_replaces(void)
{
    char path[300], buf[64];
    snprintf(path, sizeof path, "%s/sub/a.txt", dir);
    CHECK(atomic_write(path, "first", 5) == C_OK);
    CHECK(read_file(path, buf, sizeof buf) == 5 && !strcmp(buf, "first"));
    CHECK(atomic_write(path, "second", 6) == C_OK);
    CHECK(read_file(path, buf, sizeof buf) == 6 && !strcmp(buf, "second"));
    snprintf(path, sizeof path, "%s/sub", dir);
    CHECK(count_entries(path) == 1);
}

static void abort_keeps_old_file(void)
{
    char path[300], buf[64];
    snprintf(path, sizeof path, "%s/b.txt", dir);
    CHECK(atomic_write(path, "old", 3) == C_OK);
    atomic_file af;
    CHECK(atomic_open(&af, path) == C_OK);
    fputs("half", af.fp);
    atomic_abort(&af);
    CHECK(read_file(path, buf, sizeof buf) == 3 && !strcmp(buf, "old"));
    CHECK(count_entries(dir) == 2); /* sub/ and b.txt, no temporary */
}

static void exit_removes_temporary(void)
{
    char sub[300];
    snprintf(sub, sizeof sub, "%s/exit", dir);
    pid_t pid = fork();
    if (pid == 0) {
        char path[320];
        snprintf(path, sizeof path, "%s/c.txt", sub);
        atomic_file af;
        if (atomic_open(&af, path) != C_OK) _exit(3);
        fputs("partial", af.fp);
        fflush(af.fp);
        fclose(stderr); /* keep the expected message out of the test log */
        err_die(path, "simulated failure");
    }
    int status;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 1);
    CHECK(count_entries(sub) == -1);   /* the temporary, and then the folder the failing run made */
}

static void dir_commit_swaps_whole_folder(void)
{
    char path[300], file[400], buf[16];
    snprintf(path, sizeof path, "%s/tree", dir);
    const char *tmp;
    for (int round = 0; round < 2; round++) {
        CHECK(atomic_dir_open(path, &tmp) == C_OK);
        snprintf(file, sizeof file, "%s/f%d", tmp, round);
        CHECK(atomic_write(file, "x", 1) == C_OK);
        CHECK(atomic_dir_commit(path) == C_OK);
    }
    CHECK(count_entries(path) == 1); /* only f1: the old tree was replaced, not merged */
    snprintf(file, sizeof file, "%s/f1", path);
    CHECK(read_file(file, buf, sizeof buf) == 1);
    CHECK(atomic_dir_open(path, &tmp) == C_OK);
    atomic_dir_abort(path);
    CHECK(count_entries(dir) == 3); /* sub, b.txt, tree */
}

/* More artifacts open than the cleanup table holds: the next open is an error with one line, and
 * leaves no temporary behind (it used to exit the process). */
static void too_many_open_is_an_error(void)
{
    enum { N = 64 };   /* atomic.c's MAX_PENDING */
    char many[300], path[400], err[1024];
    snprintf(many, sizeof many, "%s.many", dir);
    static atomic_file af[N];
    int opened = 0;
    for (int i = 0; i < N; i++) {
        snprintf(path, sizeof path, "%s/f%d", many, i);
        opened += atomic_open(&af[i], path) == C_OK;
    }
    CHECK(opened == N);
    atomic_file extra;
    snprintf(path, sizeof path, "%s/extra", many);
    stderr_capture_begin();
    int rc = atomic_open(&extra, path);
    const char *tmp;
    int rc_dir = atomic_dir_open(path, &tmp);
    stderr_capture_end(err, sizeof err);
    CHECK(rc == C_ERR && rc_dir == C_ERR);
    CHECK(count_lines(err) == 2 && strstr(err, "too many artifacts open at once"));
    CHECK(count_entries(many) == N);   /* only the N registered temporaries */
    for (int i = 0; i < N; i++) atomic_abort(&af[i]);
    CHECK(count_entries(many) == 0);
    CHECK(atomic_write(path, "x", 1) == C_OK);   /* the table has room again */
    fs_remove_tree(many);
}

/* fs_remove_tree reads folders with getdents64 into a small buffer while it removes entries: a
 * folder of many long names (several reads, and a re-read after removals), five levels deep,
 * goes whole; a link inside is removed, never followed. */
static void remove_tree_wide_deep_no_follow(void)
{
    char root[300], path[700], outside[300];
    snprintf(root, sizeof root, "%s.rmtree", dir);
    snprintf(outside, sizeof outside, "%s.outside", dir);
    CHECK(fs_mkdir_p(outside) == C_OK);
    snprintf(path, sizeof path, "%s/keep", outside);
    CHECK(atomic_write(path, "k", 1) == C_OK);
    snprintf(path, sizeof path, "%s/a/b/c/d/e", root);
    CHECK(fs_mkdir_p(path) == C_OK);
    for (int i = 0; i < 300; i++) {
        snprintf(path, sizeof path, "%s/a/a_file_with_a_long_name_to_fill_the_getdents_buffer_%03d", root, i);
        FILE *f = fopen(path, "w");
        CHECK(f != NULL);
        if (f) fclose(f);
    }
    snprintf(path, sizeof path, "%s/a/b/c/d/e/deep", root);
    CHECK(atomic_write(path, "d", 1) == C_OK);
    snprintf(path, sizeof path, "%s/a/b/link", root);
    CHECK(symlink(outside, path) == 0);
    CHECK(fs_remove_tree(root) == C_OK);
    CHECK(access(root, F_OK) != 0);
    snprintf(path, sizeof path, "%s/keep", outside);
    CHECK(access(path, F_OK) == 0);
    CHECK(fs_remove_tree(outside) == C_OK);
}

/* A signal removes a temporary folder with everything in it (it used to be left for the next
 * run's clean-up: the handler could not walk folders). */
static void signal_removes_temporary_folder(void)
{
    char path[300], file[700];
    snprintf(path, sizeof path, "%s/sigtree", dir);
    int before = count_entries(dir);
    pid_t pid = fork();
    if (pid == 0) {
        const char *tmp;
        if (atomic_dir_open(path, &tmp) != C_OK) _exit(2);
        snprintf(file, sizeof file, "%s/x/y", tmp);
        if (fs_mkdir_p(file) != C_OK) _exit(3);
        snprintf(file, sizeof file, "%s/x/y/z.png", tmp);
        if (atomic_write(file, "png", 3) != C_OK) _exit(4);
        raise(SIGTERM);
        _exit(5);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
    CHECK(count_entries(dir) == before);   /* no sigtree.tmp.* */
}

/* A failing exit (err_exit) removes the folders the process made that are empty then, deepest
 * first; one holding a file stays, and so does everything after a successful exit. */
static void failing_exit_removes_made_folders(void)
{
    char made[300], path[700];
    snprintf(made, sizeof made, "%s/made", dir);
    for (int failing = 0; failing < 2; failing++) {
        pid_t pid = fork();
        if (pid == 0) {
            snprintf(path, sizeof path, "%s/empty/deeper", made);
            if (fs_mkdir_p(path) != C_OK) _exit(2);
            snprintf(path, sizeof path, "%s/full/f", made);
            if (atomic_write(path, "f", 1) != C_OK) _exit(3);
            if (failing) err_exit();
            exit(0);
        }
        int status = 0;
        waitpid(pid, &status, 0);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == failing);
        snprintf(path, sizeof path, "%s/empty", made);
        CHECK((access(path, F_OK) == 0) == !failing);
        snprintf(path, sizeof path, "%s/full/f", made);
        CHECK(access(path, F_OK) == 0);
        fs_remove_tree(made);
    }
}

static void full_disk_is_an_error(void)
{
    if (access("/dev/full", W_OK) != 0) SKIP("no /dev/full");
    /* /dev/full cannot hold a temporary beside it, so exercise the write path via a FILE. */
    atomic_file af;
    char path[300];
    snprintf(path, sizeof path, "%s/full.bin", dir);
    CHECK(atomic_open(&af, path) == C_OK);
    fclose(af.fp);
    af.fp = fopen("/dev/full", "wb");
    static char block[1 << 16];
    fwrite(block, 1, sizeof block, af.fp);
    fclose(stderr);
    CHECK(atomic_commit(&af) == C_ERR);
    CHECK(access(path, F_OK) != 0);
    CHECK(count_entries(dir) == 3);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/test_atomic.XXXXXX");
    if (!mkdtemp(dir)) return 1;
    err_init("test_atomic");
    TEST_RUN(commit_writes_and_replaces);
    TEST_RUN(abort_keeps_old_file);
    TEST_RUN(exit_removes_temporary);
    TEST_RUN(dir_commit_swaps_whole_folder);
    TEST_RUN(too_many_open_is_an_error);
    TEST_RUN(remove_tree_wide_deep_no_follow);
    TEST_RUN(signal_removes_temporary_folder);
    TEST_RUN(failing_exit_removes_made_folders);
    TEST_RUN(full_disk_is_an_error);
    fs_remove_tree(dir);
    TEST_EXIT();
}
