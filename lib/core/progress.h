/* progress.h: a tqdm-style progress bar on stderr.
 *
 * On a terminal: ` 45%|████▌     | 88/196 [00:12<00:14, 7.21it/s, loss=1.234]`, redrawn at most
 * at most every min_interval (0.2 s) and finished with a newline. When stderr is not a terminal:
 * a plain line `desc: 88/196 45% 00:12<00:14 7.21it/s loss=1.234` at most every min_interval
 * (10 s) and one at the end, so logs stay readable. Times are mm:ss (h:mm:ss past an hour). */
#ifndef PROGRESS_H
#define PROGRESS_H

#include <stdio.h>

typedef struct progress {
    const char *desc;       /* prefix, e.g. "epoch 3" (borrowed) */
    long total, n;
    double start, last_draw;
    int is_tty;
    double min_interval;    /* seconds between redraws (tty) or lines (plain) */
    char field[64];         /* custom field, e.g. "loss=1.234" */
    FILE *out;
    int last_len;           /* length of the line on screen (tty), blanked over by the next */
    int finished;
} progress;

void progress_init(progress *p, const char *desc, long total);
/* Forces the plain (non-terminal) style and output stream: for tests. */
void progress_init_stream(progress *p, const char *desc, long total, FILE *out, int is_tty,
                          double min_interval);
void progress_set_field(progress *p, const char *fmt, ...);
void progress_update(progress *p, long n);        /* sets the count (not an increment) */
void progress_finish(progress *p);
/* Formats the bar for the current state into buf (no newline): the tty style when p->is_tty,
 * the plain style otherwise; exposed for tests. */
void progress_format(const progress *p, double now, char *buf, size_t cap);
/* The same with an explicit clock (seconds on the CLOCK_MONOTONIC scale of p->start), so tests
 * can simulate a run; progress_draw_at draws unconditionally. */
void progress_update_at(progress *p, long n, double now);
void progress_finish_at(progress *p, double now);
void progress_draw_at(progress *p, double now);

#endif
