/* page.c: report_build, the order of work: check gnuplot, load every artifact (failing before
 * anything is written), draw into a temporary charts folder, swap it in, then write index.html. */
#include <stdlib.h>
#include <string.h>

#include "core/atomic.h"
#include "core/fs.h"
#include "core/errors.h"
#include "report/internal.h"

int report_build(const report_opts *o)
{
    /* Fail early and clearly: without gnuplot there is no report. */
    char *gp = report_plot_find_gnuplot();
    if (!gp) return err_msg("gnuplot", "not found on PATH: install gnuplot (Debian: gnuplot-nox) to draw the report's charts");
    free(gp);

    report_page r = { .opts = o, .n_archs = o->n_archs };
    int rc = C_ERR;
    r.archs = xcalloc((size_t)o->n_archs + 1, sizeof *r.archs);
    if (report_data_load(&r.data, o->art_dir) != C_OK) goto done;
    for (int i = 0; i < o->n_archs; i++)
        if (report_arch_load(&r.archs[i], o->art_dir, o->archs[i], i) != C_OK) goto done;
    if (report_sweeps_load(&r) != C_OK) goto done;

    char charts[4096], index[4096];
    snprintf(charts, sizeof charts, "%s/charts", o->out_dir);
    snprintf(index, sizeof index, "%s/index.html", o->out_dir);
    const char *tmp;
    if (fs_mkdir_p(o->out_dir) != C_OK || atomic_dir_open(charts, &tmp) != C_OK) goto done;
    r.charts_dir = tmp;
    if (report_images_write(&r, tmp) != C_OK || report_plots_write(&r, tmp) != C_OK || report_plots_run(tmp) != C_OK) {
        atomic_dir_abort(charts);
        goto done;
    }
    if (atomic_dir_commit(charts) != C_OK) goto done;
    rc = report_html_write(&r, index);
done:
    for (int i = 0; i < o->n_archs; i++) report_arch_free(&r.archs[i]);
    free(r.archs);
    report_sweeps_free(&r);
    report_data_free(&r.data);
    return rc;
}
