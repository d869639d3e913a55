/* page.c: report_build, the order of work: check gnuplot, load every artifact (failing before
 * anything is written), draw into a temporary charts folder, write index.html, then commit both.
 *
 * charts/ and index.html are one commit group (journal OUT/index.commit, under the lock OUT.lock
 * beside the folder): on a full disk the page that fit used to be swapped in with charts/ and
 * then index.html failed, leaving new charts under an old or missing page. */
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

    char charts[4096], index[4096], journal[4096], lock[4096];
    size_t len = strlen(o->out_dir);
    while (len > 1 && o->out_dir[len - 1] == '/') len--;   /* OUT/ and OUT are the same folder */
    snprintf(charts, sizeof charts, "%.*s/charts", (int)len, o->out_dir);
    snprintf(index, sizeof index, "%.*s/index.html", (int)len, o->out_dir);
    snprintf(journal, sizeof journal, "%.*s/index.commit", (int)len, o->out_dir);
    snprintf(lock, sizeof lock, "%.*s.lock", (int)len, o->out_dir);
    const char *outs[2] = { charts, index };
    if (atomic_lock(lock) < 0 || atomic_recover_outputs(journal, outs, 2) != C_OK) goto done;
    const char *tmp;
    if (fs_mkdir_p(o->out_dir) != C_OK || atomic_dir_open(charts, &tmp) != C_OK) goto done;
    r.charts_dir = tmp;
    if (report_images_write(&r, tmp) != C_OK || report_plots_write(&r, tmp) != C_OK || report_plots_run(tmp) != C_OK) {
        atomic_dir_abort(charts);
        goto done;
    }
    /* the group begins once the charts are drawn: the files inside the folder commit on their own */
    if (atomic_group_begin(journal) != C_OK) {
        atomic_dir_abort(charts);
        goto done;
    }
    if (atomic_dir_commit(charts) != C_OK || report_html_write(&r, index) != C_OK) {
        atomic_group_abort();
        goto done;
    }
    rc = atomic_group_commit();
done:
    for (int i = 0; i < o->n_archs; i++) report_arch_free(&r.archs[i]);
    free(r.archs);
    report_sweeps_free(&r);
    report_data_free(&r.data);
    return rc;
}
