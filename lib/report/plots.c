/* plots.c: the report's charts. Every chart is drawn by gnuplot (pngcairo) from plain-text
 * data files written here, by one script charts.gp, so a reader can re-draw or restyle any chart
 * with `cd reports/charts && gnuplot charts.gp`. Missing values are written as `?`. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include "core/atomic.h"
#include "core/errors.h"
#include "io/png_io.h"
#include "report/internal.h"

#define LRF_SKIP_START 10   /* fastai LR_Finder.plot: lrs[10:-5] */
#define LRF_SKIP_END 5

/* Tableau-10: distinct, print-friendly; one colour per architecture everywhere. */
static const char *const palette[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                      "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};

const char *report_arch_colour(int index) { return palette[index % 10]; }

int report_plot_has_lrfind(const report_arch *a) { return a->has_lrfind && a->n_lrf > 0; }
int report_plot_has_training(const report_arch *a) { return a->has_metrics && a->n_epochs > 0; }
int report_plot_has_eval(const report_arch *a) { return a->has_eval; }

int report_any_trained(const report_page *r)
{
    for (int i = 0; i < r->n_archs; i++)
        if (r->archs[i].has_metrics || r->archs[i].has_eval) return 1;
    return 0;
}

int report_any_evaluated(const report_page *r)
{
    for (int i = 0; i < r->n_archs; i++)
        if (r->archs[i].has_eval) return 1;
    return 0;
}

/* ---- data files ---- */

typedef struct dat {
    atomic_file af;
    int ok;
} dat;

static int dat_open(dat *d, const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    d->ok = atomic_open(&d->af, path) == C_OK;
    return d->ok ? C_OK : C_ERR;
}

static void num(dat *d, double v)
{
    if (isfinite(v)) fprintf(d->af.fp, " %.9g", v);
    else fputs(" ?", d->af.fp);
}

/* A name as one data-file column: double-quoted, inner double quotes replaced. */
static void qstr(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) fputc(*s == '"' ? '\'' : *s, f);
    fputc('"', f);
}

static int dat_close(dat *d) { return atomic_commit(&d->af); }

/* A string literal for the gnuplot script: single quotes, '' for a quote. */
static void gstr(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; *s; s++) {
        if (*s == '\'') fputc('\'', f);
        if (*s != '\n') fputc(*s, f);
    }
    fputc('\'', f);
}

/* fastai's sched.plot() skips the first 10 and last 5 points; with too few, keep them all. */
static void lrf_range(const report_arch *a, int *lo, int *hi)
{
    *lo = 0;
    *hi = a->n_lrf;
    if (a->n_lrf > LRF_SKIP_START + LRF_SKIP_END) {
        *lo = LRF_SKIP_START;
        *hi = a->n_lrf - LRF_SKIP_END;
    }
}

static int write_arch_data(const report_page *r, const report_arch *a, const char *dir)
{
    dat d;
    char name[256];
    if (report_plot_has_lrfind(a)) {
        int lo, hi;
        lrf_range(a, &lo, &hi);
        snprintf(name, sizeof name, "%s_lrfind.dat", a->name);
        if (dat_open(&d, dir, name) != C_OK) return C_ERR;
        fprintf(d.af.fp, "# lr smoothed_loss (points %d..%d of %d)\n", lo, hi - 1, a->n_lrf);
        for (int i = lo; i < hi; i++) {
            num(&d, a->lrf_lr[i]);
            num(&d, a->lrf_loss[i]);
            fputc('\n', d.af.fp);
        }
        if (dat_close(&d) != C_OK) return C_ERR;
    }
    if (report_plot_has_training(a)) {
        snprintf(name, sizeof name, "%s_epochs.dat", a->name);
        if (dat_open(&d, dir, name) != C_OK) return C_ERR;
        fputs("# epoch(1-based) trn_loss val_loss accuracy phase\n", d.af.fp);
        for (int i = 0; i < a->n_epochs; i++) {
            const report_epoch *e = &a->epochs[i];
            num(&d, e->epoch + 1);
            num(&d, e->trn_loss);
            num(&d, e->val_loss);
            num(&d, e->accuracy);
            num(&d, e->phase);
            fputc('\n', d.af.fp);
        }
        if (dat_close(&d) != C_OK) return C_ERR;
        snprintf(name, sizeof name, "%s_iter.dat", a->name);
        if (dat_open(&d, dir, name) != C_OK) return C_ERR;
        fputs("# iteration epoch_fraction lr batch_loss\n", d.af.fp);
        for (int i = 0; i < a->n_iter; i++) {
            num(&d, i);
            num(&d, (double)(i + 1) / (double)a->batches_per_epoch);
            num(&d, a->iter_lr[i]);
            num(&d, a->iter_loss[i]);
            fputc('\n', d.af.fp);
        }
        if (dat_close(&d) != C_OK) return C_ERR;
    }
    if (report_plot_has_eval(a)) {
        int k = a->n_classes;
        snprintf(name, sizeof name, "%s_confusion.dat", a->name);
        if (dat_open(&d, dir, name) != C_OK) return C_ERR;
        for (int i = 0; i < k; i++) {
            for (int j = 0; j < k; j++) fprintf(d.af.fp, "%s%ld", j ? " " : "", a->confusion[i * k + j]);
            fputc('\n', d.af.fp);
        }
        if (dat_close(&d) != C_OK) return C_ERR;
        snprintf(name, sizeof name, "%s_perclass.dat", a->name);
        if (dat_open(&d, dir, name) != C_OK) return C_ERR;
        fputs("# class plain_accuracy_% tta_accuracy_%\n", d.af.fp);
        for (int i = 0; i < k; i++) {
            qstr(d.af.fp, i < r->data.n_classes ? r->data.classes[i] : "?");
            num(&d, a->per_class[i] * 100);
            num(&d, a->tta_per_class[i] * 100);
            fputc('\n', d.af.fp);
        }
        if (dat_close(&d) != C_OK) return C_ERR;
    }
    return C_OK;
}

static int write_compare_data(const report_page *r, const char *dir)
{
    dat d;
    if (dat_open(&d, dir, "compare.dat") != C_OK) return C_ERR;
    fputs("# slot arch accuracy_% tta_accuracy_% log_loss tta_log_loss params_k epochs train_seconds colour\n",
          d.af.fp);
    int slot = 0;
    for (int i = 0; i < r->n_archs; i++) {
        const report_arch *a = &r->archs[i];
        if (!a->has_metrics && !a->has_eval) continue;
        fprintf(d.af.fp, "%d ", slot++);
        qstr(d.af.fp, a->name);
        num(&d, a->has_eval ? a->accuracy * 100 : NAN);
        num(&d, a->has_eval ? a->tta_accuracy * 100 : NAN);
        num(&d, a->has_eval ? a->log_loss : NAN);
        num(&d, a->has_eval ? a->tta_log_loss : NAN);
        num(&d, a->has_summary ? a->total_params / 1000.0 : NAN);
        num(&d, a->has_metrics ? a->n_epochs : NAN);
        num(&d, a->has_metrics ? a->train_seconds : NAN);
        fprintf(d.af.fp, " %ld\n", strtol(report_arch_colour(a->index) + 1, NULL, 16));
    }
    return dat_close(&d);
}

/* ---- the script ---- */

static void common(FILE *g, int w, int h, const char *out)
{
    fprintf(g, "\nreset\nset terminal pngcairo size %d,%d noenhanced font 'DejaVu Sans,10' linewidth 1.2\n", w, h);
    fputs("set output ", g);
    gstr(g, out);
    fputs("\nset datafile missing '?'\nset grid lc rgb '#dddddd' lt 1\nset border lc rgb '#555555'\n"
          "set key box lc rgb '#cccccc' opaque\nset tics nomirror\n", g);
}

static void title(FILE *g, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    fputs("set title ", g);
    gstr(g, buf);
    fputs(" font 'DejaVu Sans,12'\n", g);
}

/* Dashed vertical lines where a new fit() call (phase) starts. */
static void phase_marks(FILE *g, const report_arch *a)
{
    for (int i = 1; i < a->n_epochs; i++)
        if (a->epochs[i].phase != a->epochs[i - 1].phase)
            fprintf(g, "set arrow from first %g, graph 0 to first %g, graph 1 nohead dt 2 lc rgb '#999999'\n",
                    a->epochs[i].epoch + 0.5, a->epochs[i].epoch + 0.5);
}

static int any_finite(const double *v, int n)
{
    for (int i = 0; i < n; i++)
        if (isfinite(v[i])) return 1;
    return 0;
}

static int any_epoch_value(const report_arch *a, int which)
{
    for (int i = 0; i < a->n_epochs; i++) {
        const report_epoch *e = &a->epochs[i];
        double v = which == 0 ? e->trn_loss : which == 1 ? e->val_loss : e->accuracy;
        if (isfinite(v)) return 1;
    }
    return 0;
}

/* A chart with nothing to draw (every value missing or not finite) still gets its PNG, saying
 * so, rather than failing gnuplot's autoscaling. */
static void empty_plot(FILE *g, const char *msg)
{
    fputs("unset key\nunset xtics\nunset ytics\nunset xlabel\nunset ylabel\nset xrange [0:1]\nset yrange [0:1]\n"
          "set label 1 ", g);
    gstr(g, msg);
    fputs(" at graph 0.5, 0.5 center\nplot NaN notitle\nunset label 1\n", g);
}

/* Whole-epoch tics while they stay readable. */
static void epoch_tics(FILE *g, const report_arch *a)
{
    if (a->n_epochs <= 16) fputs("set xtics 1\n", g);
}

/* A new chart of model n, w x h: <n>_<file>.png titled "<n>: <what>" */
static void chart(FILE *g, int w, int h, const char *n, const char *file, const char *what)
{
    char out[256];
    snprintf(out, sizeof out, "%s_%s.png", n, file);
    common(g, w, h, out);
    title(g, "%s: %s", n, what);
}

/* The same for an epoch chart, with the phase marks, the epoch axis and the y label */
static void epoch_chart(FILE *g, const report_arch *a, const char *n, const char *file, const char *what,
                        const char *ylabel)
{
    chart(g, 720, 440, n, file, what);
    phase_marks(g, a);
    fprintf(g, "set xlabel 'epoch'\nset ylabel '%s'\nset key below spacing 1.1\nset xlabel offset 0,0.4\nset bmargin 7\n"
            "set xrange [0:*]\n", ylabel);
    epoch_tics(g, a);
}

static void arch_script(FILE *g, const report_page *r, const report_arch *a)
{
    const char *n = a->name, *col = report_arch_colour(a->index);
    if (report_plot_has_lrfind(a)) {
        chart(g, 720, 440, n, "lrfind", "learning-rate finder");
        fputs("set logscale x\nset format x '%.0e'\nset xlabel 'learning rate (log scale)'\n"
              "set ylabel 'smoothed training loss (NLL)'\nset key below spacing 1.1\nset xlabel offset 0,0.4\nset bmargin 7\n", g);
        int lo, hi, best = -1;
        lrf_range(a, &lo, &hi);
        for (int i = lo; i < hi; i++)
            if (isfinite(a->lrf_loss[i]) && (best < 0 || a->lrf_loss[i] < a->lrf_loss[best])) best = i;
        if (best < 0) {
            empty_plot(g, "no finite loss recorded");
        } else {
        fprintf(g, "plot '%s_lrfind.dat' using 1:2 with lines lw 2 lc rgb '%s' title '%s'", n, col,
                hi - lo < a->n_lrf ? "smoothed loss (first 10 and last 5 points skipped, as fastai)"
                                   : "smoothed loss (all points: too few to skip)");
        fprintf(g, ", \\\n     '+' using (%.9g):(%.9g) every ::0::0 with points pt 7 ps 1.3 lc rgb '#333333' "
                   "title 'lowest loss: %.3g at lr %.2g'\n", a->lrf_lr[best], a->lrf_loss[best], a->lrf_loss[best],
                a->lrf_lr[best]);
        }
    }
    if (report_plot_has_training(a)) {
        epoch_chart(g, a, n, "loss", "loss per epoch", "loss (NLL)");
        if (!any_epoch_value(a, 0) && !any_epoch_value(a, 1) && !any_finite(a->iter_loss, a->n_iter))
            empty_plot(g, "no finite loss recorded");
        else
        fprintf(g, "plot '%s_iter.dat' using 2:4 with lines lw 0.6 lc rgb '#c8c8c8' title 'batch loss (raw, per iteration)', \\\n"
                   "     '%s_epochs.dat' using 1:2 with linespoints pt 7 ps 0.8 lw 2 lc rgb '%s' title 'trn_loss (smoothed, end of epoch)', \\\n"
                   "     '%s_epochs.dat' using 1:3 with linespoints pt 5 ps 0.8 lw 2 lc rgb '#333333' title 'val_loss (test set)'\n",
                n, n, col, n);

        epoch_chart(g, a, n, "accuracy", "test accuracy per epoch", "accuracy (%)");
        fputs("set offsets 0, 0, graph 0.06, graph 0.06\n", g);   /* keep the TTA line off the border */
        if (!any_epoch_value(a, 2)) {
            empty_plot(g, "no accuracy recorded");
        } else {
            fprintf(g, "plot '%s_epochs.dat' using 1:($4*100) with linespoints pt 7 ps 0.8 lw 2 lc rgb '%s' title 'accuracy after each epoch'",
                    n, col);
            if (a->has_eval)
                fprintf(g, ", \\\n     %.9g with lines dt 2 lw 1.5 lc rgb '#333333' title 'final TTA accuracy (%.2f%%)'",
                        a->tta_accuracy * 100, a->tta_accuracy * 100);
            fputc('\n', g);
        }

        if (a->n_iter > 0) {
            chart(g, 720, 440, n, "lr", "learning-rate schedule");
            fputs("set xlabel 'iteration (batch)'\nset ylabel 'learning rate'\nset format y '%g'\nunset key\n", g);
            if (!any_finite(a->iter_lr, a->n_iter)) empty_plot(g, "no learning rate recorded");
            else fprintf(g, "plot '%s_iter.dat' using 1:3 with lines lw 1.5 lc rgb '%s' title 'lr per iteration'\n", n, col);
        }
    }
    if (report_plot_has_eval(a)) {
        int k = a->n_classes;
        long max = 1;
        for (int i = 0; i < k * k; i++) if (a->confusion[i] > max) max = a->confusion[i];
        chart(g, 640, 600, n, "confusion", "confusion matrix (TTA predictions)");
        fputs("unset grid\nunset key\nset xlabel 'predicted class'\nset ylabel 'true class'\n"
              "set palette defined (0 '#ffffff', 1 '#9ecae1', 2 '#08306b')\n"
              "set cblabel 'test images'\nset size ratio -1\nset tics scale 0\n", g);
        fprintf(g, "set cbrange [0:%ld]\nset xrange [-0.5:%d.5]\nset yrange [%d.5:-0.5]\n", max, k - 1, k - 1);
        for (int axis = 0; axis < 2; axis++) {
            fputs(axis ? "set ytics (" : "set xtics rotate by 45 right (", g);
            for (int i = 0; i < k; i++) {
                if (i) fputs(", ", g);
                gstr(g, i < r->data.n_classes ? r->data.classes[i] : "?");
                fprintf(g, " %d", i);
            }
            fputs(")\n", g);
        }
        fprintf(g, "plot '%s_confusion.dat' matrix with image, \\\n"
                   "     '' matrix using 1:2:($3 > %g ? sprintf('%%d', $3) : '') with labels tc rgb '#ffffff' font ',9', \\\n"
                   "     '' matrix using 1:2:($3 <= %g ? sprintf('%%d', $3) : '') with labels tc rgb '#222222' font ',9'\n",
                n, max * 0.55, max * 0.55);

        chart(g, 720, 440, n, "perclass", "accuracy per class");
        fputs("set style data histograms\nset style histogram clustered gap 1\nset style fill solid 0.9 border -1\n"
              "set boxwidth 0.9\nset ylabel 'accuracy (%)'\nset xlabel 'true class'\nset yrange [0:105]\n"
              "set xtics rotate by 30 right\nset key below spacing 1.1\nset bmargin 8\n", g);
        if (!any_finite(a->per_class, k) && !any_finite(a->tta_per_class, k))
            empty_plot(g, "no class has test images");
        else
        fprintf(g, "plot '%s_perclass.dat' using 2:xtic(1) lc rgb '#bbbbbb' title 'plain (1 pass)', \\\n"
                   "     '' using 3 lc rgb '%s' title 'TTA (1 + %ld passes)'\n", n, col, a->n_aug);
    }
}

static void compare_script(FILE *g, const report_page *r)
{
    if (!report_any_trained(r)) return;
    static const struct { int col; const char *ylabel, *title; } panel[] = {
        {3, "%", "accuracy, plain (%)"},
        {4, "%", "accuracy, TTA (%)"},
        {6, "NLL", "log loss, TTA (lower is better)"},
        {7, "thousands", "parameters (thousands)"},
        {8, "epochs", "epochs trained"},
        {9, "", ""},   /* training time: unit chosen below */
    };
    double max_s = 0;
    for (int i = 0; i < r->n_archs; i++)
        if (r->archs[i].has_metrics && r->archs[i].train_seconds > max_s) max_s = r->archs[i].train_seconds;
    const char *unit = max_s < 120 ? "seconds" : max_s < 3 * 3600 ? "minutes" : "hours";
    char time_title[64];
    snprintf(time_title, sizeof time_title, "training time (%s)", unit);
    common(g, 1080, 640, "compare_bars.png");
    fprintf(g, "time_div = %g\n", max_s < 120 ? 1.0 : max_s < 3 * 3600 ? 60.0 : 3600.0);
    fputs("set multiplot layout 2,3 title 'all architectures' font 'DejaVu Sans,13'\n"
          "unset key\nset style fill solid 0.9 border -1\nset boxwidth 0.7\nset xtics rotate by 30 right\n"
          "set yrange [0:*]\nset grid noxtics ytics\nset offsets 0.5, 0.5, graph 0.12, 0\n", g);
    for (int p = 0; p < 6; p++) {
        title(g, "%s", panel[p].col == 9 ? time_title : panel[p].title);
        int have = 0;
        for (int i = 0; i < r->n_archs; i++) {
            const report_arch *a = &r->archs[i];
            have |= panel[p].col <= 6 ? a->has_eval : panel[p].col == 7 ? a->has_summary : a->has_metrics;
        }
        if (!have) {
            fputs("set multiplot next\n", g);   /* leaves the panel empty; the title explains */
            continue;
        }
        fputs("set ylabel ", g);
        gstr(g, panel[p].col == 9 ? unit : panel[p].ylabel);
        char expr[32];   /* the plotted value as a gnuplot expression */
        if (panel[p].col == 9) snprintf(expr, sizeof expr, "$9/time_div");
        else snprintf(expr, sizeof expr, "$%d", panel[p].col);
        fprintf(g, "\nplot 'compare.dat' using 1:(%s):(0.7):10:xtic(2) with boxes lc rgb variable, \\\n"
                   "     '' using 1:(%s):(sprintf('%%.%df', %s)) with labels offset 0,0.7 font ',8'\n",
                expr, expr, panel[p].col == 6 ? 3 : panel[p].col == 8 ? 0 : 1, expr);
    }
    fputs("unset multiplot\n", g);

    int any = 0;
    for (int i = 0; i < r->n_archs; i++) any |= report_plot_has_training(&r->archs[i]);
    if (!any) return;
    common(g, 1080, 500, "compare_val_accuracy.png");
    title(g, "test accuracy per epoch, all architectures");
    fputs("set xlabel 'epoch'\nset ylabel 'accuracy (%)'\nset key outside right top\nset xrange [0:*]\n", g);
    fputs("plot ", g);
    int first = 1;
    for (int i = 0; i < r->n_archs; i++) {
        const report_arch *a = &r->archs[i];
        if (!report_plot_has_training(a)) continue;
        fprintf(g, "%s'%s_epochs.dat' using 1:($4*100) with linespoints pt 7 ps 0.6 lw 2 lc rgb '%s' title ",
                first ? "" : ", \\\n     ", a->name, report_arch_colour(a->index));
        gstr(g, a->name);
        first = 0;
    }
    fputc('\n', g);
}

void report_plot_frame(FILE *g, int w, int h, const char *png) { common(g, w, h, png); }
void report_plot_set_title(FILE *g, const char *text) { title(g, "%s", text); }
void report_plot_quote(FILE *g, const char *s) { gstr(g, s); }

int report_plots_write(const report_page *r, const char *dir)
{
    for (int i = 0; i < r->n_archs; i++)
        if (write_arch_data(r, &r->archs[i], dir) != C_OK) return C_ERR;
    if (report_any_trained(r) && write_compare_data(r, dir) != C_OK) return C_ERR;
    if (report_sweeps_plot_data(r, dir) != C_OK) return C_ERR;

    char path[4096];
    snprintf(path, sizeof path, "%s/charts.gp", dir);
    atomic_file af;
    if (atomic_open(&af, path) != C_OK) return C_ERR;
    fputs("# Draws every chart of the report from the .dat files beside it: gnuplot charts.gp\n", af.fp);
    for (int i = 0; i < r->n_archs; i++) arch_script(af.fp, r, &r->archs[i]);
    compare_script(af.fp, r);
    report_sweeps_plot_script(af.fp, r);
    fputs("\nset output\n", af.fp);
    return atomic_commit(&af);
}

char *report_plot_find_gnuplot(void)
{
    const char *path = getenv("PATH");
    if (!path) return NULL;
    char *copy = xstrdup(path), *save = NULL;
    for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
        size_t n = strlen(dir) + 16;
        char *cand = xmalloc(n);
        snprintf(cand, n, "%s/gnuplot", *dir ? dir : ".");
        struct stat st;
        if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) && access(cand, X_OK) == 0) {
            free(copy);
            return cand;
        }
        free(cand);
    }
    free(copy);
    return NULL;
}

/* The first line of gnuplot's output that says what went wrong (or the last line). */
static void first_error_line(const char *log, char *buf, size_t cap)
{
    FILE *f = fopen(log, "r");
    char line[512];
    buf[0] = '\0';
    if (!f) return;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!*line || strspn(line, " ^") == strlen(line)) continue;
        snprintf(buf, cap, "%s", line);
        if (strstr(line, "rror") || strstr(line, "nknown")) break;
    }
    fclose(f);
}

/* gnuplot exits 0 when a PNG could not be written (a full disk leaves empty or cut files), so
 * every chart charts.gp names (its `set output '<name>'` lines, quoted by gstr) is decoded by
 * libpng before the page may use it. */
static int charts_check(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/charts.gp", dir);
    FILE *f = fopen(path, "r");
    if (!f) return err_msg(path, "cannot read: %s", strerror(errno));
    char line[4096];
    int rc = C_OK;
    while (rc == C_OK && fgets(line, sizeof line, f)) {
        if (strncmp(line, "set output '", 12)) continue;
        char name[1024];
        size_t n = 0;
        for (const char *c = line + 12; *c && n + 1 < sizeof name; c++) {
            if (*c == '\'') {
                if (c[1] != '\'') break;   /* '' is a quote inside the name */
                c++;
            }
            name[n++] = *c;
        }
        name[n] = '\0';
        snprintf(path, sizeof path, "%s/%s", dir, name);
        uint8_t *rgb = NULL;
        int w, h;
        char why[512] = "";
        err_capture(why, sizeof why);
        int bad = png_io_read_rgb(path, &rgb, &w, &h, 8192, 8192) != C_OK;
        err_capture(NULL, 0);
        free(rgb);
        size_t at = strlen(path);   /* libpng's reason without the path it starts with */
        const char *reason = !strncmp(why, path, at) && !strncmp(why + at, ": ", 2) ? why + at + 2 : why;
        if (bad) rc = err_msg(path, "gnuplot did not write this chart whole (is the disk full?): %s", reason);
    }
    fclose(f);
    return rc;
}

int report_plots_run(const char *dir)
{
    char *gp = report_plot_find_gnuplot();
    if (!gp) return err_msg("gnuplot", "not found on PATH: install gnuplot (Debian: gnuplot-nox) to draw the report's charts");
    char log[4096];
    snprintf(log, sizeof log, "%s/gnuplot.log", dir);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        free(gp);
        return err_msg("gnuplot", "cannot start: %s", strerror(errno));
    }
    if (pid == 0) {
        /* Child: _exit only, so the parent's atexit cleanup of temporaries never runs here. */
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0 || chdir(dir) != 0) _exit(126);
        dup2(fd, 1);
        dup2(fd, 2);
        execl(gp, "gnuplot", "charts.gp", (char *)NULL);
        _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    free(gp);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        char why[512];
        first_error_line(log, why, sizeof why);
        return err_msg("charts.gp", "gnuplot failed (status %d): %s", WIFEXITED(status) ? WEXITSTATUS(status) : -1,
                       *why ? why : "no output");
    }
    unlink(log);
    return charts_check(dir);
}
