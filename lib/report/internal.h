/* internal.h: the report's in-memory model of the artifacts and the pieces that render
 * it (data loading, images, gnuplot charts, HTML). Shared by lib/report*.c only. */
#ifndef REPORT_INTERNAL_H
#define REPORT_INTERNAL_H

#include <stdio.h>

#include "data/dataset.h"
#include "data/norm_stats.h"
#include "report/page.h"

#define REPORT_MAX_CLASSES 32

typedef struct report_module {
    char *name, *type, *in_shape, *out_shape;   /* shapes as compact JSON text */
    long params;
} report_module;

typedef struct report_epoch {
    int phase, epoch;
    double trn_loss, val_loss, accuracy, seconds;   /* NAN when recorded as null */
} report_epoch;

/* Everything known about one architecture; each has_* says whether that artifact exists. */
typedef struct report_arch {
    char *name;
    int index;                                   /* position in the display order (colour) */
    int has_summary, has_lrfind, has_metrics, has_eval;

    char *input_shape;                           /* summary */
    long total_params;
    int n_modules;
    report_module *modules;

    double start_lr, end_lr;                     /* lrfind */
    long lrf_iterations;
    int stopped_early;
    int n_lrf;
    double *lrf_lr, *lrf_loss;

    char *device;                                /* metrics */
    long seed, batches_per_epoch;
    double train_seconds;
    int n_epochs;
    report_epoch *epochs;
    int n_iter;
    double *iter_lr, *iter_loss;

    long n_aug, count;                           /* eval */
    int tta_views;                               /* 1: eval.json's "tta" is "flip_translate" */
    double accuracy, log_loss, tta_accuracy, tta_log_loss;
    int n_classes;
    double per_class[REPORT_MAX_CLASSES], tta_per_class[REPORT_MAX_CLASSES];
    long confusion[REPORT_MAX_CLASSES * REPORT_MAX_CLASSES];
} report_arch;

typedef struct report_data {
    double mean[3], std[3];
    norm_stats norm;
    dataset train, test;
    int n_classes;
    char *classes[REPORT_MAX_CLASSES];
    long train_count[REPORT_MAX_CLASSES], test_count[REPORT_MAX_CLASSES];
} report_data;

/* One point of a sweep and its results (sweep_inputs.c). */
typedef struct report_sweep_point {
    char *name;
    char **values;          /* per sweep key: the override as JSON text, NULL when not overridden */
    int has_eval, has_metrics;
    double accuracy, tta_accuracy, log_loss, tta_log_loss, train_seconds;
} report_sweep_point;

/* $(ART)/sweeps/<name>/plan.json; points sorted by result (TTA accuracy, best first; then
 * lower TTA log loss), points without an evaluation after them in plan order. */
typedef struct report_sweep {
    char *name, *file, *description, *model, *params;
    int n_keys;
    char **keys;
    int n_points;
    report_sweep_point *points;
} report_sweep;

typedef struct report_page {
    const report_opts *opts;
    report_data data;
    int n_archs;
    report_arch *archs;
    int n_sweeps;
    report_sweep *sweeps;       /* every sweep found under <art>/sweeps/, by name */
    const char *charts_dir;     /* temporary charts folder while building (borrowed) */
} report_page;

/* report_data.c: loading and validating the artifacts. */
int report_data_load(report_data *d, const char *art_dir);
void report_data_free(report_data *d);
int report_arch_load(report_arch *a, const char *art_dir, const char *name, int index);
void report_arch_free(report_arch *a);

/* report_images.c: per-class sample rows and augmented rows as PNGs in dir. */
int report_images_write(const report_page *r, const char *dir);
#define REPORT_SAMPLES_PER_CLASS 10
#define REPORT_AUG_PASSES 4

/* report_plot.c: data files + charts.gp in dir, then gnuplot. */
int report_plots_write(const report_page *r, const char *dir);
int report_plots_run(const char *dir);
/* Which charts exist for an architecture (the same predicates the HTML uses). */
int report_plot_has_lrfind(const report_arch *a);
int report_plot_has_training(const report_arch *a);
int report_plot_has_eval(const report_arch *a);
int report_any_trained(const report_page *r);
int report_any_evaluated(const report_page *r);
const char *report_arch_colour(int index);

/* report_html.c: the page. */
int report_html_write(const report_page *r, const char *path);
void report_html_escape(FILE *f, const char *s);

/* Helpers of plots.c for other chart writers: the common preamble of one PNG, its title, a
 * gnuplot string literal. */
void report_plot_frame(FILE *g, int w, int h, const char *png);
void report_plot_set_title(FILE *g, const char *text);
void report_plot_quote(FILE *g, const char *s);

/* sweep_inputs.c, sweep_plots.c, sweep_html.c: the sweep section (nothing when no sweep ran). */
int report_sweeps_load(report_page *r);
void report_sweeps_free(report_page *r);
int report_sweeps_plot_data(const report_page *r, const char *dir);
void report_sweeps_plot_script(FILE *g, const report_page *r);
/* Whether key k of the sweep has its chart (some evaluated point overrides it). */
int report_sweep_has_chart(const report_sweep *s, int k);
void report_sweeps_nav(FILE *f, const report_page *r);
void report_sweeps_html(FILE *f, const report_page *r);

#endif
