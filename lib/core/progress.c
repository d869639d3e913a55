/* progress.c: tqdm-style progress on stderr (see progress.h). */
#include "core/progress.h"

#include <stdarg.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BAR_CELLS 10
#define TTY_INTERVAL 0.2   /* s between redraws on a terminal */
#define PLAIN_INTERVAL 10.0 /* s between lines in a log */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* mm:ss, or h:mm:ss from an hour on (tqdm's format). */
static void fmt_time(char *out, size_t cap, double sec)
{
    long s = sec > 0 ? (long)sec : 0;
    if (s >= 3600) snprintf(out, cap, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
    else snprintf(out, cap, "%02ld:%02ld", s / 60, s % 60);
}

/* Eighth blocks U+258F..U+2588: index k = k eighths of a cell. */
static const char *const eighths[9] = {"", "\u258f", "\u258e", "\u258d", "\u258c",
                                       "\u258b", "\u258a", "\u2589", "\u2588"};

void progress_format(const progress *p, double now, char *buf, size_t cap)
{
    double elapsed = now - p->start;
    if (elapsed < 0) elapsed = 0;
    double rate = elapsed > 0 && p->n > 0 ? (double)p->n / elapsed : 0;
    char el[32], rem[32], rt[32];
    fmt_time(el, sizeof el, elapsed);
    if (rate > 0 && p->total > 0) fmt_time(rem, sizeof rem, (double)(p->total - p->n) / rate);
    else snprintf(rem, sizeof rem, "?");
    if (rate <= 0) snprintf(rt, sizeof rt, "?it/s");
    else if (rate < 1) snprintf(rt, sizeof rt, "%.2fs/it", 1 / rate);
    else snprintf(rt, sizeof rt, "%.2fit/s", rate);
    double frac = p->total > 0 ? (double)p->n / (double)p->total : 0;
    if (frac < 0) frac = 0;
    if (frac > 1) frac = 1;
    int pct = (int)(100 * frac + 0.5);
    const char *desc = p->desc && *p->desc ? p->desc : NULL;
    const char *field = p->field[0] ? p->field : NULL;
    size_t n = 0;
#define PUT(...) do { if (n < cap) n += (size_t)snprintf(buf + n, cap - n, __VA_ARGS__); } while (0)
    if (cap) buf[0] = '\0';
    if (p->is_tty) {
        /* ` 45%|████▌     | 88/196 [00:12<00:14, 7.21it/s, loss=1.234]` */
        if (desc) PUT("%s: ", desc); /* tqdm: "desc:  45%|", "desc: 100%|" */
        if (p->total > 0) {
            int e8 = (int)(frac * BAR_CELLS * 8 + 0.5); /* eighths filled, rounded */
            PUT("%3d%%|", pct);
            for (int i = 0; i < e8 / 8; i++) PUT("%s", eighths[8]);
            int cells = e8 / 8;
            if (e8 % 8) {
                PUT("%s", eighths[e8 % 8]);
                cells++;
            }
            PUT("%*s| %ld/%ld [%s<%s, %s", BAR_CELLS - cells, "", p->n, p->total, el, rem, rt);
        } else {
            PUT("%ld [%s, %s", p->n, el, rt);
        }
        if (field) PUT(", %s", field);
        PUT("]");
    } else {
        /* `desc: 88/196 45% 00:12<00:14 7.21it/s loss=1.234` */
        if (desc) PUT("%s: ", desc);
        if (p->total > 0) PUT("%ld/%ld %d%% %s<%s %s", p->n, p->total, pct, el, rem, rt);
        else PUT("%ld %s %s", p->n, el, rt);
        if (field) PUT(" %s", field);
    }
#undef PUT
}

void progress_init_stream(progress *p, const char *desc, long total, FILE *out, int is_tty,
                          double min_interval)
{
    memset(p, 0, sizeof *p);
    p->desc = desc;
    p->total = total;
    p->out = out;
    p->is_tty = is_tty;
    p->min_interval = min_interval;
    p->start = p->last_draw = now_s();
}

void progress_init(progress *p, const char *desc, long total)
{
    int tty = isatty(fileno(stderr));
    progress_init_stream(p, desc, total, stderr, tty, tty ? TTY_INTERVAL : PLAIN_INTERVAL);
    if (tty) progress_draw_at(p, p->start); /* show the empty bar at once, like tqdm */
}

void progress_set_field(progress *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->field, sizeof p->field, fmt, ap);
    va_end(ap);
}

void progress_draw_at(progress *p, double now)
{
    char line[512];
    progress_format(p, now, line, sizeof line);
    if (p->is_tty) {
        /* \r and blanks over the rest of a longer previous line */
        int len = (int)strlen(line);
        int pad = p->last_len > len ? p->last_len - len : 0;
        fprintf(p->out, "\r%s%*s", line, pad, "");
        p->last_len = len;
    } else {
        fprintf(p->out, "%s\n", line);
    }
    fflush(p->out);
    p->last_draw = now;
}

void progress_update_at(progress *p, long n, double now)
{
    p->n = n;
    if (p->finished || now - p->last_draw < p->min_interval) return;
    progress_draw_at(p, now);
}

void progress_update(progress *p, long n) { progress_update_at(p, n, now_s()); }

void progress_finish_at(progress *p, double now)
{
    if (p->finished) return;
    progress_draw_at(p, now);
    if (p->is_tty) {
        fputc('\n', p->out);
        fflush(p->out);
    }
    p->finished = 1;
}

void progress_finish(progress *p) { progress_finish_at(p, now_s()); }
