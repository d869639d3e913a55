/* page.h: the static HTML report (reports/index.html + charts/) built from the artifacts.
 *
 * report_build reads $(ART)/stats.json and $(ART)/data/{train,test}.safetensors (required) and,
 * per architecture, whichever of <arch>.summary/lrfind/metrics/eval.json exist (an absent file
 * means "not run yet"; a present but invalid one is an error naming it). It writes the data files,
 * a gnuplot script and every PNG into <out>/charts (a temporary folder swapped in whole), runs
 * gnuplot (pngcairo) there, then writes <out>/index.html atomically. */
#ifndef REPORT_PAGE_H
#define REPORT_PAGE_H

typedef struct report_opts {
    const char *art_dir;       /* artifacts folder ($(ART)) */
    const char *out_dir;       /* report folder ($(REP)) */
    const char *title;         /* page title; NULL for the default */
    const char *const *archs;  /* architectures in display order */
    int n_archs;
} report_opts;

/* The architectures to show in display order: the names given, or (n_named == 0) every
 * <models_dir>/<arch>.json; each model file is loaded, and the smallest model (parameter count, then
 * name) comes first. *archs is malloc'd (report_models_free). C_OK or C_ERR after one line. */
int report_models_order(const char *models_dir, const char *const *named, int n_named,
                        char ***archs, int *n_archs);
void report_models_free(char **archs, int n);

/* Builds the whole report; C_OK or C_ERR after one error line. */
int report_build(const report_opts *o);

/* Full path of `gnuplot` found on PATH, or NULL (malloc'd). */
char *report_plot_find_gnuplot(void);

#endif
