/* progress.h: a tqdm-style progress bar on stderr.
 *
 * On a terminal: ` 45%|████▌     | 88/196 [00:12<00:14, 7.21it/s, loss=1.234]`, redrawn at most
 * a few times a second and finished with a newline. When stderr is not a terminal: a plain line
 * at most every `plain_every_s` seconds (and at the end), so logs stay readable. */
#ifndef PROGRESS_H
#define PROGRESS_H

#include <stdio.h>

typedef struct progress {
    const char *desc;       /* prefix, e.g. "epoch 3" (borrowed) */
    long total, n;
    double start, last_draw;
    int is_tty;
    double min_interval;    /* seconds between redraws */
    char field[64];         /* custom field, e.g. "loss=1.234" */
    FILE *out;
} progress;

void progress_init(progress *p, const char *desc, long total);
/* Forces the plain (non-terminal) style and output stream: for tests. */
void progress_init_stream(progress *p, const char *desc, long total, FILE *out, int is_tty,
                          double min_interval);
void progress_set_field(progress *p, const char *fmt, ...);
void progress_update(progress *p, long n);        /* sets the count (not an increment) */
void progress_finish(progress *p);
/* Formats the bar for the current state into buf (no newline); exposed for tests. */
void progress_format(const progress *p, double now, char *buf, size_t cap);

#endif
