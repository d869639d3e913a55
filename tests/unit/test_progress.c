/* progress: the formatted bar for known states (tty and plain), and how often a simulated run
 * draws in each mode. Time is injected (progress_*_at), so nothing here depends on the clock. */
#include "core/progress.h"
#include "test.h"

#include <stdlib.h>

static char line[512];

static progress at(const char *desc, long n, long total, int tty, const char *field)
{
    progress p;
    progress_init_stream(&p, desc, total, stderr, tty, 0.2);
    p.start = 0;
    p.n = n;
    if (field) progress_set_field(&p, "%s", field);
    return p;
}

static void tty_bar_known_state(void)
{
    /* 88 of 196 after 12.2 s: 44.9% -> 45%, 4.49 cells -> 4 full + a half block, 7.21 it/s,
     * 108 left at that rate = 14.97 s -> 00:14. */
    progress p = at(NULL, 88, 196, 1, "loss=1.234");
    progress_format(&p, 12.2, line, sizeof line);
    CHECK(!strcmp(line, " 45%|\u2588\u2588\u2588\u2588\u258c     | 88/196 [00:12<00:14, 7.21it/s, loss=1.234]"));
    p = at("epoch 3", 88, 196, 1, NULL);
    progress_format(&p, 12.2, line, sizeof line);
    CHECK(!strcmp(line, "epoch 3:  45%|\u2588\u2588\u2588\u2588\u258c     | 88/196 [00:12<00:14, 7.21it/s]"));
    if (test_case_failed) printf("    (got '%s')\n", line);
}

static void tty_bar_ends_and_eighths(void)
{
    progress p = at(NULL, 0, 196, 1, NULL);
    progress_format(&p, 0, line, sizeof line);
    CHECK(!strcmp(line, "  0%|          | 0/196 [00:00<?, ?it/s]"));
    p = at(NULL, 196, 196, 1, NULL);
    progress_format(&p, 49, line, sizeof line);
    CHECK(!strcmp(line, "100%|\u2588\u2588\u2588\u2588\u2588\u2588\u2588\u2588\u2588\u2588| 196/196 [00:49<00:00, 4.00it/s]"));
    /* one eighth of one cell: 1/80 of the way */
    p = at(NULL, 1, 80, 1, NULL);
    progress_format(&p, 1, line, sizeof line);
    CHECK(!strncmp(line, "  1%|\u258f         | 1/80 ", strlen("  1%|\u258f         | 1/80 ")));
    /* seven eighths of the first cell: 7/80 */
    p = at(NULL, 7, 80, 1, NULL);
    progress_format(&p, 1, line, sizeof line);
    CHECK(!strncmp(line, "  9%|\u2589         |", strlen("  9%|\u2589         |")));
    if (test_case_failed) printf("    (got '%s')\n", line);
}

static void slow_rate_and_long_times(void)
{
    /* below 1 it/s the rate is shown as seconds per iteration */
    progress p = at(NULL, 1, 10, 1, NULL);
    progress_format(&p, 4, line, sizeof line);
    CHECK(strstr(line, "[00:04<00:36, 4.00s/it]") != NULL);
    /* past an hour: h:mm:ss, for both elapsed and remaining */
    p = at(NULL, 100, 300, 0, NULL);
    progress_format(&p, 3725, line, sizeof line);
    CHECK(strstr(line, " 1:02:05<2:04:10 ") != NULL);
    if (test_case_failed) printf("    (got '%s')\n", line);
}

static void plain_line_known_state(void)
{
    progress p = at("desc", 88, 196, 0, "loss=1.234");
    progress_format(&p, 12.2, line, sizeof line);
    CHECK(!strcmp(line, "desc: 88/196 45% 00:12<00:14 7.21it/s loss=1.234"));
    p = at(NULL, 0, 50, 0, NULL);
    progress_format(&p, 0, line, sizeof line);
    CHECK(!strcmp(line, "0/50 0% 00:00<? ?it/s"));
    if (test_case_failed) printf("    (got '%s')\n", line);
}

static void unknown_total(void)
{
    progress p = at("read", 42, 0, 1, NULL);
    progress_format(&p, 2, line, sizeof line);
    CHECK(!strcmp(line, "read: 42 [00:02, 21.00it/s]"));
    p = at("read", 42, 0, 0, NULL);
    progress_format(&p, 2, line, sizeof line);
    CHECK(!strcmp(line, "read: 42 00:02 21.00it/s"));
    if (test_case_failed) printf("    (got '%s')\n", line);
}

static void field_and_truncation(void)
{
    progress p = at(NULL, 5, 10, 1, NULL);
    progress_set_field(&p, "loss=%.3f acc=%d%%", 0.5, 90);
    CHECK(!strcmp(p.field, "loss=0.500 acc=90%"));
    char small[8];
    progress_format(&p, 1, small, sizeof small);
    CHECK(strlen(small) == sizeof small - 1); /* truncated, still terminated */
}

static int count_char(const char *s, size_t n, char c)
{
    int k = 0;
    for (size_t i = 0; i < n; i++) k += s[i] == c;
    return k;
}

/* 196 steps of 0.5 s (98 s) with lines at most every 10 s: one at 10, 20, ..., 90 s and one at
 * the end -> 9 + 1 lines. */
static void plain_mode_line_count(void)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    progress p;
    progress_init_stream(&p, "train", 196, f, 0, 10.0);
    p.start = p.last_draw = 1000.0;
    for (long i = 1; i <= 196; i++) {
        progress_set_field(&p, "loss=%.3f", 2.0 / (double)i);
        progress_update_at(&p, i, 1000.0 + 0.5 * (double)i);
    }
    progress_finish_at(&p, 1000.0 + 98.0);
    progress_finish_at(&p, 1000.0 + 99.0); /* a second finish draws nothing */
    fclose(f);
    CHECK(count_char(buf, len, '\n') == 9 + 1);
    CHECK(count_char(buf, len, '\r') == 0);
    CHECK(len > 0 && buf[len - 1] == '\n');
    CHECK(strstr(buf, "train: 20/196 10% 00:10<01:28 2.00it/s loss=0.100\n") == buf);
    const char *last = len > 1 ? (const char *)memrchr(buf, '\n', len - 1) : NULL;
    CHECK(last && !strcmp(last + 1, "train: 196/196 100% 01:38<00:00 2.00it/s loss=0.010\n"));
    if (test_case_failed) printf("    (got '%s')\n", buf);
    free(buf);
}

/* On a terminal: 32 steps of 1/16 s with redraws at most every 1/4 s -> 8 redraws (at 0.25,
 * 0.5, ..., 2.0 s), then the final draw and exactly one newline. */
static void tty_mode_redraw_count(void)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    progress p;
    progress_init_stream(&p, NULL, 32, f, 1, 0.25);
    p.start = p.last_draw = 0.0;
    for (long i = 1; i <= 32; i++) progress_update_at(&p, i, (double)i / 16.0);
    progress_set_field(&p, "x"); /* shorter lines are blanked over, never left with old text */
    progress_finish_at(&p, 2.0);
    fclose(f);
    CHECK(count_char(buf, len, '\r') == 8 + 1);
    CHECK(count_char(buf, len, '\n') == 1 && buf[len - 1] == '\n');
    CHECK(strstr(buf, "100%|") != NULL && strstr(buf, "32/32 [00:02<00:00, 16.00it/s, x]\n") != NULL);
    if (test_case_failed) printf("    (got '%s')\n", buf);
    free(buf);
}

int main(void)
{
    TEST_RUN(tty_bar_known_state);
    TEST_RUN(tty_bar_ends_and_eighths);
    TEST_RUN(slow_rate_and_long_times);
    TEST_RUN(plain_line_known_state);
    TEST_RUN(unknown_total);
    TEST_RUN(field_and_truncation);
    TEST_RUN(plain_mode_line_count);
    TEST_RUN(tty_mode_redraw_count);
    TEST_EXIT();
}
