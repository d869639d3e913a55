/* sweep_html.c: the report's sweep section: per sweep, a table of every point (its overrides,
 * accuracy, TTA accuracy, log loss, training time), best result first, and the charts of
 * sweep_plots.c. Nothing at all when no sweep has been expanded, so the page is unchanged. */
#include <math.h>
#include <stdio.h>

#include "report/internal.h"

static void esc(FILE *f, const char *s) { report_html_escape(f, s); }

static void pct(FILE *f, int ok, double v)
{
    if (ok && isfinite(v)) fprintf(f, "%.2f%%", v * 100);
    else fputs("–", f);
}

static void fix(FILE *f, int ok, double v)
{
    if (ok && isfinite(v)) fprintf(f, "%.4f", v);
    else fputs("–", f);
}

static void seconds(FILE *f, int ok, double s)
{
    if (!ok || !isfinite(s)) fputs("–", f);
    else if (s < 60) fprintf(f, "%.1f s", s);
    else if (s < 3600) fprintf(f, "%d min %02d s", (int)(s / 60), (int)fmod(s, 60));
    else fprintf(f, "%d h %02d min", (int)(s / 3600), (int)fmod(s / 60, 60));
}

void report_sweeps_nav(FILE *f, const report_page *r)
{
    if (r->n_sweeps) fputs("<a href=\"#sweeps\">Sweeps</a>", f);
}

static void sweep_table(FILE *f, const report_sweep *s)
{
    int done = 0;
    for (int i = 0; i < s->n_points; i++) done += s->points[i].has_eval;
    fputs("<h3 id=\"sweep-", f);
    esc(f, s->name);
    fputs("\">", f);
    esc(f, s->name);
    fprintf(f, ": %d point%s, %d evaluated</h3>\n<p class=\"note\">", s->n_points, s->n_points == 1 ? "" : "s", done);
    if (*s->description) {
        esc(f, s->description);
        fputs(". ", f);
    }
    fputs("Model <code>", f);
    esc(f, s->model);
    fputs("</code>, base params <code>", f);
    esc(f, s->params);
    fputs("</code>, sweep file <code>", f);
    esc(f, s->file);
    fputs("</code>. Each point is the base params with its overrides, trained and evaluated like a model; "
          "sorted by TTA accuracy (then TTA log loss), the best in green; “base” = not overridden.</p>\n", f);
    fputs("<table><tr><th>rank</th><th class=\"l\">point</th>", f);
    for (int k = 0; k < s->n_keys; k++) {
        fputs("<th class=\"l\"><code>", f);
        esc(f, s->keys[k]);
        fputs("</code></th>", f);
    }
    fputs("<th>accuracy</th><th>TTA accuracy</th><th>log loss</th><th>TTA log loss</th><th>training time</th></tr>\n", f);
    for (int i = 0; i < s->n_points; i++) {
        const report_sweep_point *p = &s->points[i];
        fprintf(f, "<tr><td>%d</td><td class=\"l\">", i + 1);
        esc(f, p->name);
        fputs("</td>", f);
        for (int k = 0; k < s->n_keys; k++) {
            fputs("<td class=\"l\">", f);
            esc(f, p->values[k] ? p->values[k] : "base");
            fputs("</td>", f);
        }
        const char *best = i == 0 && p->has_eval ? " class=\"best\"" : "";
        fputs("<td>", f);
        pct(f, p->has_eval, p->accuracy);
        fprintf(f, "</td><td%s>", best);
        pct(f, p->has_eval, p->tta_accuracy);
        fputs("</td><td>", f);
        fix(f, p->has_eval, p->log_loss);
        fprintf(f, "</td><td%s>", best);
        fix(f, p->has_eval, p->tta_log_loss);
        fputs("</td><td>", f);
        if (!p->has_metrics) fputs("not trained yet", f);
        else seconds(f, 1, p->train_seconds);
        fputs("</td></tr>\n", f);
    }
    fputs("</table>\n<div class=\"grid\">\n", f);
    for (int k = 0; k < s->n_keys; k++) {
        if (!report_sweep_has_chart(s, k)) continue;
        fputs("<figure><img src=\"charts/sweep_", f);
        esc(f, s->name);
        fprintf(f, "_k%d.png\" alt=\"sweep ", k);
        esc(f, s->name);
        fputs(": accuracy against ", f);
        esc(f, s->keys[k]);
        fputs("\"><figcaption>Test accuracy of every evaluated point (TTA filled, plain open) against <code>", f);
        esc(f, s->keys[k]);
        fputs("</code>; points that differ in other keys share an x position.</figcaption></figure>\n", f);
    }
    fputs("</div>\n", f);
}

void report_sweeps_html(FILE *f, const report_page *r)
{
    if (!r->n_sweeps) return;
    fputs("<section id=\"sweeps\"><h2>Sweeps</h2>\n<p class=\"note\">Parameter sweeps "
          "(<code>make sweep SWEEP=&lt;name&gt;</code>, from <code>sweeps/&lt;name&gt;.json</code>): "
          "every point found under the artifacts' <code>sweeps/</code> folder.</p>\n", f);
    for (int i = 0; i < r->n_sweeps; i++) sweep_table(f, &r->sweeps[i]);
    fputs("</section>\n", f);
}
