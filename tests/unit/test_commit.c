/* Commit groups, journals, stale temporaries and stop signals (core/atomic.h, core/signals.h). */
#include "core/atomic.h"
#include "core/errors.h"
#include "core/fs.h"
#include "core/signals.h"
#include "test.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[256];

static int read_file(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    int n = (int)fread(buf, 1, cap - 1, f);
    fclose(f);
    buf[n] = '\0';
    return n;
}

static int is(const char *path, const char *text)
{
    char buf[64];
    return read_file(path, buf, sizeof buf) >= 0 && !strcmp(buf, text);
}

static int exists(const char *path) { return access(path, F_OK) == 0; }

/* Writes a and b (and folder t holding one file) as one group. */
static int write_group(const char *root, const char *text)
{
    char a[400], b[400], t[400], j[400], f[500];
    snprintf(a, sizeof a, "%s/a", root);
    snprintf(b, sizeof b, "%s/b", root);
    snprintf(t, sizeof t, "%s/t", root);
    snprintf(j, sizeof j, "%s/g.commit", root);
    const char *tmp;
    if (atomic_dir_open(t, &tmp) != C_OK) return C_ERR;
    snprintf(f, sizeof f, "%s/f", tmp);
    if (atomic_write(f, text, strlen(text)) != C_OK) return C_ERR;
    if (atomic_group_begin(j) != C_OK) return C_ERR;
    if (atomic_write(a, text, strlen(text)) != C_OK || atomic_write(b, text, strlen(text)) != C_OK ||
        atomic_dir_commit(t) != C_OK) {
        atomic_group_abort();
        return C_ERR;
    }
    /* nothing is visible before the group commit */
    if (exists(a) && is(a, text)) return C_ERR;
    return atomic_group_commit();
}

static void group_commits_together(void)
{
    char root[300], p[400];
    snprintf(root, sizeof root, "%s/g1", dir);
    CHECK(write_group(root, "old") == C_OK);
    CHECK(write_group(root, "new") == C_OK);
    snprintf(p, sizeof p, "%s/a", root); CHECK(is(p, "new"));
    snprintf(p, sizeof p, "%s/b", root); CHECK(is(p, "new"));
    snprintf(p, sizeof p, "%s/t/f", root); CHECK(is(p, "new"));
    snprintf(p, sizeof p, "%s/g.commit", root); CHECK(!exists(p));
}

static void killed_after_journal_rolls_forward(void)
{
    char root[300], p[400], j[400];
    snprintf(root, sizeof root, "%s/g2", dir);
    CHECK(write_group(root, "old") == C_OK);
    pid_t pid = fork();
    if (pid == 0) {
        setenv("CIFAR_TEST_KILL", "journal:g.commit:1", 1);
        write_group(root, "new");
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    snprintf(j, sizeof j, "%s/g.commit", root);
    CHECK(exists(j));
    snprintf(p, sizeof p, "%s/a", root); CHECK(is(p, "old"));   /* not one rename done yet */
    snprintf(p, sizeof p, "%s/t/f", root); CHECK(is(p, "old"));
    fclose(stderr);   /* keep the "finished the commit" line out of the test log */
    stderr = fopen("/dev/null", "w");
    CHECK(atomic_recover(j) == C_OK);
    snprintf(p, sizeof p, "%s/a", root); CHECK(is(p, "new"));
    snprintf(p, sizeof p, "%s/b", root); CHECK(is(p, "new"));
    snprintf(p, sizeof p, "%s/t/f", root); CHECK(is(p, "new"));
    CHECK(!exists(j));
    CHECK(atomic_recover(j) == C_OK);   /* no journal: nothing to do */
}

static void killed_before_journal_keeps_old(void)
{
    char root[300], p[400];
    snprintf(root, sizeof root, "%s/g3", dir);
    CHECK(write_group(root, "old") == C_OK);
    pid_t pid = fork();
    if (pid == 0) {
        setenv("CIFAR_TEST_KILL", "rename:/b:1", 1);   /* the second member's temporary */
        write_group(root, "new");
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    snprintf(p, sizeof p, "%s/a", root); CHECK(is(p, "old"));
    snprintf(p, sizeof p, "%s/b", root); CHECK(is(p, "old"));
    snprintf(p, sizeof p, "%s/g.commit", root); CHECK(!exists(p));
    /* the next group removes what the killed one left */
    CHECK(write_group(root, "new") == C_OK);
    snprintf(p, sizeof p, "%s/b", root); CHECK(is(p, "new"));
    char cmd[600];
    snprintf(cmd, sizeof cmd, "test -z \"$(ls -d %s/*.tmp.* 2>/dev/null)\"", root);
    CHECK(system(cmd) == 0);
}

static void stale_temporaries_but_not_held_ones(void)
{
    char root[300], p[400], stale[400], held[400], other[400], odd[400], sdir[400];
    snprintf(root, sizeof root, "%s/s", dir);
    CHECK(fs_mkdir_p(root) == C_OK);
    snprintf(p, sizeof p, "%s/x.ckpt", root);
    snprintf(stale, sizeof stale, "%s/x.ckpt.tmp.AbCdEf", root);
    snprintf(held, sizeof held, "%s/x.ckpt.tmp.HeLd01", root);
    snprintf(other, sizeof other, "%s/y.ckpt.tmp.AbCdEf", root);
    snprintf(odd, sizeof odd, "%s/x.ckpt.tmp.longer_name", root);
    snprintf(sdir, sizeof sdir, "%s/x.ckpt.tmp.DiR001", root);
    const char *files[] = { stale, held, other, odd };
    for (int i = 0; i < 4; i++) CHECK(atomic_write(files[i], "t", 1) == C_OK);
    CHECK(fs_mkdir_p(sdir) == C_OK);
    int pipefd[2];
    CHECK(pipe(pipefd) == 0);
    pid_t pid = fork();
    if (pid == 0) {   /* a living writer: holds the lock */
        int fd = open(held, O_RDONLY);
        flock(fd, LOCK_EX);
        if (write(pipefd[1], "x", 1) != 1) _exit(1);
        pause();
        _exit(0);
    }
    char c;
    CHECK(read(pipefd[0], &c, 1) == 1);
    atomic_clean_stale(p);
    CHECK(!exists(stale) && !exists(sdir));
    CHECK(exists(held) && exists(other) && exists(odd));
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    atomic_clean_stale(p);   /* its writer is gone now */
    CHECK(!exists(held));
    close(pipefd[0]);
    close(pipefd[1]);
}

/* In a child: the first SIGTERM sets the flag, the second ends the process (temporary removed);
 * a signal ignored before start stays ignored. */
static void stop_signals(void)
{
    char path[320], sub[300];
    snprintf(sub, sizeof sub, "%s/sig", dir);
    snprintf(path, sizeof path, "%s/out", sub);
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGUSR1, SIG_IGN);
        signals_graceful();
        atomic_file af;
        if (atomic_open(&af, path) != C_OK) _exit(3);
        raise(SIGUSR1);                                   /* ignored */
        if (signals_stop_requested()) _exit(4);
        raise(SIGTERM);
        if (signals_stop_requested() != SIGTERM) _exit(5);
        raise(SIGINT);                                    /* the second: ends at once */
        _exit(6);
    }
    int st;
    waitpid(pid, &st, 0);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGINT);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "test -z \"$(ls -A %s)\"", sub);
    CHECK(system(cmd) == 0);   /* the temporary went with it */
}


/* Issue 22 item 5: a folder where a group's file goes fails the group before its journal: no
 * output renamed, no journal, no temporary left. */
static void group_checks_every_output_first(void)
{
    char root[300], p[400], why[512];
    snprintf(root, sizeof root, "%s/g5", dir);
    CHECK(write_group(root, "old") == C_OK);
    snprintf(p, sizeof p, "%s/b", root);
    CHECK(unlink(p) == 0 && mkdir(p, 0755) == 0);
    err_capture(why, sizeof why);
    CHECK(write_group(root, "new") == C_ERR);
    err_capture(NULL, 0);
    CHECK(strstr(why, "/b: is a folder, where this file is to be written") != NULL);
    snprintf(p, sizeof p, "%s/a", root); CHECK(is(p, "old"));
    snprintf(p, sizeof p, "%s/t/f", root); CHECK(is(p, "old"));
    snprintf(p, sizeof p, "%s/g.commit", root); CHECK(!exists(p));
    char cmd[400];
    snprintf(cmd, sizeof cmd, "test -z \"$(find %s -name '*.tmp.*')\"", root);
    CHECK(system(cmd) == 0);
}

static void put(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f) { fputs(text, f); fclose(f); }
}

/* Issue 22 item 1: a journal rolls forward only renames of the stage's own temporaries into its
 * outputs; any other line refuses the whole journal (nothing renamed, the journal kept). */
static void recover_refuses_foreign_renames(void)
{
    char root[300], j[400], tmp[400], fin[400], victim[400], text[2000], why[512];
    snprintf(root, sizeof root, "%s/g6", dir);
    CHECK(fs_mkdir_p(root) == C_OK);
    char real[300];
    CHECK(realpath(root, real) != NULL);
    snprintf(j, sizeof j, "%s/x.commit", real);
    snprintf(tmp, sizeof tmp, "%s/a.tmp.AbC123", real);
    snprintf(fin, sizeof fin, "%s/a", real);
    snprintf(victim, sizeof victim, "%s/victim", dir);
    put(tmp, "new");
    put(victim, "victim");
    /* a good line, then one moving a file from elsewhere: neither is done */
    static const char *const bad[][2] = {
        { "%s\tnot a line\n", NULL },
        { "F\t%s\t%s/stolen\n", "the temporary is not in the output's folder" },
        { "F\t%s\t%s/a\n", "the temporary is not in the output's folder" },           /* victim -> a */
        { "D\t%s\t%s/a\n", "the temporary is not in the output's folder" },
    };
    for (int k = 0; k < 4; k++) {
        int n = snprintf(text, sizeof text, "F\t%s\t%s\n", tmp, fin);
        if (k == 0) snprintf(text + n, sizeof text - (size_t)n, bad[k][0], "x");
        else snprintf(text + n, sizeof text - (size_t)n, bad[k][0], victim, real);
        put(j, text);
        err_capture(why, sizeof why);
        CHECK(atomic_recover(j) == C_ERR);
        err_capture(NULL, 0);
        CHECK(strstr(why, "line 2: ") != NULL);
        if (bad[k][1]) CHECK(strstr(why, bad[k][1]) != NULL);
        CHECK(is(victim, "victim") && is(tmp, "new") && !exists(fin) && exists(j));
    }
    /* a link as the temporary, a temporary of another name, "..", an undeclared output */
    char link[400];
    snprintf(link, sizeof link, "%s/a.tmp.LnK123", real);
    CHECK(symlink(victim, link) == 0);
    const char *why_expected[] = { "the temporary is not a regular file", "not a temporary of that output",
                                   "not a plain absolute path", "not an output of this stage" };
    for (int k = 0; k < 4; k++) {
        if (k == 0) snprintf(text, sizeof text, "F\t%s\t%s\n", link, fin);
        if (k == 1) snprintf(text, sizeof text, "F\t%s/b.tmp.AbC123\t%s\n", real, fin);
        if (k == 2) snprintf(text, sizeof text, "F\t%s/../g6/a.tmp.AbC123\t%s/../g6/a\n", real, real);
        if (k == 3) snprintf(text, sizeof text, "F\t%s\t%s\n", tmp, fin);
        put(j, text);
        static const char *const outs[] = { "elsewhere/a" };
        err_capture(why, sizeof why);
        CHECK((k == 3 ? atomic_recover_outputs(j, outs, 1) : atomic_recover(j)) == C_ERR);
        err_capture(NULL, 0);
        CHECK(strstr(why, why_expected[k]) != NULL);
        CHECK(is(victim, "victim") && is(tmp, "new") && !exists(fin) && exists(j));
    }
    /* the stage's own rename into a declared output is done */
    snprintf(text, sizeof text, "F\t%s\t%s\n", tmp, fin);
    put(j, text);
    const char *outs[] = { fin };
    err_capture(why, sizeof why);
    CHECK(atomic_recover_outputs(j, outs, 1) == C_OK);
    err_capture(NULL, 0);
    CHECK(is(fin, "new") && !exists(tmp) && !exists(j));
}

int main(void)
{
    /* the default actions, whatever the runner left ignored (a background job's SIGINT), before
     * the first atomic file installs the handlers: an inherited ignored signal stays ignored */
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    snprintf(dir, sizeof dir, "/tmp/test_commit.XXXXXX");
    if (!mkdtemp(dir)) return 1;
    err_init("test_commit");
    TEST_RUN(group_commits_together);
    TEST_RUN(killed_before_journal_keeps_old);
    TEST_RUN(stale_temporaries_but_not_held_ones);
    TEST_RUN(stop_signals);
    TEST_RUN(group_checks_every_output_first);
    TEST_RUN(recover_refuses_foreign_renames);
    TEST_RUN(killed_after_journal_rolls_forward);
    fs_remove_tree(dir);
    TEST_EXIT();
}
