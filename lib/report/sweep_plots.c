/* sweep_plots.c: one data file per sweep (sweep_<name>.dat: every point, best first) and one
 * chart per swept key (sweep_<name>_k<i>.png: accuracy, plain and TTA, against that key's value),
 * appended to charts.gp by report_plots_write. A key whose values are all numbers gets a numeric
 * axis (logarithmic when they are positive and span a factor of 10 or more); any other key one
 * position per distinct value, labelled with it. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/atomic.h"
#include "core/errors.h"
#include "report/internal.h"

/* Whether every value given for key k is a JSON number; their range in *lo, *hi. */
static int key_numeric(const report_sweep *s, int k, double *lo, double *hi)
{
    *lo = INFINITY;
    *hi = -INFINITY;
    for (int i = 0; i < s->n_points; i++) {
        const char *v = s->points[i].values[k];
        if (!v) continue;
        char *end;
        double x = strtod(v, &end);
        if (end == v || *end || !isfinite(x)) return 0;
        if (x < *lo) *lo = x;
        if (x > *hi) *hi = x;
    }
    return *lo <= *hi;
}

/* Position of value v among the distinct values of key k, sorted as text. */
static int category(const report_sweep *s, int k, const char *v)
{
    int pos = 0;
    for (int i = 0; i < s->n_points; i++) {
        const char *w = s->points[i].values[k];
        if (!w || strcmp(w, v) >= 0) continue;
        int seen = 0;
        for (int j = 0; j < i && !seen; j++) seen = s->points[j].values[k] && !strcmp(s->points[j].values[k], w);
        pos += !seen;
    }
    return pos;
}

int report_sweep_has_chart(const report_sweep *s, int k)
{
    for (int i = 0; i < s->n_points; i++)
        if (s->points[i].has_eval && s->points[i].values[k]) return 1;
    return 0;
}

static void num(FILE *f, int ok, double v)
{
    if (ok && isfinite(v)) fprintf(f, " %.9g", v);
    else fputs(" ?", f);
}

static void label(FILE *f, const char *s)
{
    fputs(" \"", f);
    for (; *s; s++) fputc(*s == '"' ? '\'' : *s, f);
    fputc('"', f);
}

int report_sweeps_plot_data(const report_page *r, const char *dir)
{
    for (int w = 0; w < r->n_sweeps; w++) {
        const report_sweep *s = &r->sweeps[w];
        char path[4096];
        snprintf(path, sizeof path, "%s/sweep_%s.dat", dir, s->name);
        atomic_file af;
        if (atomic_open(&af, path) != C_OK) return C_ERR;
        FILE *f = af.fp;
        fputs("# rank point accuracy_% tta_accuracy_% log_loss tta_log_loss train_seconds", f);
        for (int k = 0; k < s->n_keys; k++) fprintf(f, " x:%s label:%s", s->keys[k], s->keys[k]);
        fputc('\n', f);
        for (int i = 0; i < s->n_points; i++) {
            const report_sweep_point *p = &s->points[i];
            fprintf(f, "%d", i + 1);
            label(f, p->name);
            num(f, p->has_eval, p->accuracy * 100);
            num(f, p->has_eval, p->tta_accuracy * 100);
            num(f, p->has_eval, p->log_loss);
            num(f, p->has_eval, p->tta_log_loss);
            num(f, p->has_metrics, p->train_seconds);
            for (int k = 0; k < s->n_keys; k++) {
                double lo, hi;
                const char *v = p->values[k];
                if (!v) fputs(" ? \"base\"", f);
                else {
                    num(f, 1, key_numeric(s, k, &lo, &hi) ? strtod(v, NULL) : (double)category(s, k, v));
                    label(f, v);
                }
            }
            fputc('\n', f);
        }
        if (atomic_commit(&af) != C_OK) return C_ERR;
    }
    return C_OK;
}

void report_sweeps_plot_script(FILE *g, const report_page *r)
{
    for (int w = 0; w < r->n_sweeps; w++) {
        const report_sweep *s = &r->sweeps[w];
        for (int k = 0; k < s->n_keys; k++) {
            if (!report_sweep_has_chart(s, k)) continue;
            char png[256], text[512];
            snprintf(png, sizeof png, "sweep_%s_k%d.png", s->name, k);
            report_plot_frame(g, 640, 420, png);
            snprintf(text, sizeof text, "sweep %s: accuracy against %s", s->name, s->keys[k]);
            report_plot_set_title(g, text);
            fputs("set ylabel 'test accuracy (%)'\nset xlabel ", g);
            report_plot_quote(g, s->keys[k]);
            fputs("\nset key below spacing 1.1\nset bmargin 7\nset offsets graph 0.05, graph 0.05, graph 0.08, graph 0.08\n", g);
            double lo, hi;
            int numeric = key_numeric(s, k, &lo, &hi);
            int xcol = 8 + 2 * k;
            if (numeric && lo > 0 && hi / lo >= 10) fputs("set logscale x\nset format x '%g'\n", g);
            if (numeric)
                fprintf(g, "plot 'sweep_%s.dat' using %d:4 with points pt 7 ps 1.4 lc rgb '#4e79a7' title 'TTA', \\\n"
                           "     '' using %d:3 with points pt 6 ps 1.4 lc rgb '#333333' title 'plain'\n",
                        s->name, xcol, xcol);
            else
                fprintf(g, "plot 'sweep_%s.dat' using %d:4:xtic(%d) with points pt 7 ps 1.4 lc rgb '#4e79a7' title 'TTA', \\\n"
                           "     '' using %d:3 with points pt 6 ps 1.4 lc rgb '#333333' title 'plain'\n",
                        s->name, xcol, xcol + 1, xcol);
        }
    }
}
