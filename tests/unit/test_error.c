/* One-line diagnostics: `stage: where: message`, C_ERR returns, nonzero exit on err_die. */
#include "core/errors.h"
#include "test.h"
#include "test_stderr.h"

#include <sys/wait.h>

static char err[1024];

static void message_names_stage_and_place(void)
{
    err_init("/some/dir/build/bin/sort");
    stderr_capture_begin();
    int rc = err_msg("cifar/train/7_cat.png", "broken PNG (%s)", "CRC error");
    stderr_capture_end(err, sizeof err);
    CHECK(rc == C_ERR);
    CHECK(!strcmp(err, "sort: cifar/train/7_cat.png: broken PNG (CRC error)\n"));
}

static void message_without_place(void)
{
    err_init("fetch");
    stderr_capture_begin();
    err_msg(NULL, "no URL given");
    stderr_capture_end(err, sizeof err);
    CHECK(!strcmp(err, "fetch: no URL given\n"));
}

static void embedded_newlines_stay_on_one_line(void)
{
    err_init("train");
    stderr_capture_begin();
    err_msg("params/x.json", "first\nsecond");
    err_warn("entry", "skipped\n");
    stderr_capture_end(err, sizeof err);
    CHECK(count_lines(err) == 2);
    CHECK(strstr(err, "train: params/x.json: first second\n") == err);
    CHECK(strstr(err, "train: entry: warning: skipped") != NULL);
}

static void die_exits_nonzero(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        fclose(stderr);
        err_die("x", "fatal");
    }
    int status;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 1);
}

int main(void)
{
    TEST_RUN(message_names_stage_and_place);
    TEST_RUN(message_without_place);
    TEST_RUN(embedded_newlines_stay_on_one_line);
    TEST_RUN(die_exits_nonzero);
    TEST_EXIT();
}
