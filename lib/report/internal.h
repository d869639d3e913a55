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

typedef struct report_page {
    const report_opts *opts;
    report_data data;
    int n_archs;
    report_arch *archs;
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

#endif
