/* html.c: index.html, a static page (inline CSS, no scripts, no external resources) that
 * shows the dataset, every architecture and a comparison. It references only the PNGs that
 * report_plot.c / report_images.c wrote, using the same predicates. */
#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "core/atomic.h"
#include "core/errors.h"
#include "report/internal.h"

/* The CIFAR-10 statistics the notebook hard-codes (fastai-semantics.md, NB cell sources). */
static const double published_mean[3] = {0.4914, 0.4822, 0.4465};
static const double published_std[3] = {0.2470, 0.2435, 0.2616};

static const char *const css =
    ":root{--fg:#1f2328;--muted:#656d76;--line:#d0d7de;--bg:#f6f8fa;--accent:#0969da}\n"
    "*{box-sizing:border-box}\n"
    "body{margin:0;font-family:system-ui,-apple-system,'Segoe UI','DejaVu Sans',Helvetica,Arial,sans-serif;"
    "color:var(--fg);background:#fff;line-height:1.45;font-size:15px}\n"
    "header{background:#24292f;color:#fff;padding:22px 32px}\n"
    "header h1{margin:0 0 4px;font-size:26px}header p{margin:0;color:#c9d1d9}\n"
    "header code{background:#3d444d;color:#fff}\n"
    "nav{position:sticky;top:0;background:#fff;border-bottom:1px solid var(--line);padding:8px 32px;z-index:2}\n"
    "nav a{margin-right:14px;color:var(--accent);text-decoration:none;font-size:14px}\n"
    "main{max-width:1240px;margin:0 auto;padding:8px 32px 40px}\n"
    "section{border-bottom:1px solid var(--line);padding:12px 0 24px}\n"
    "h2{font-size:22px;margin:18px 0 8px}h3{font-size:17px;margin:18px 0 8px}\n"
    "p.note{color:var(--muted);margin:4px 0 10px}\n"
    "table{border-collapse:collapse;margin:6px 0 12px;font-size:14px}\n"
    "th,td{border:1px solid var(--line);padding:4px 10px;text-align:right;white-space:nowrap}\n"
    "th{background:var(--bg);font-weight:600}td.l,th.l{text-align:left}\n"
    "tr.total td{font-weight:600;background:var(--bg)}\n"
    "td.best{font-weight:700;color:#1a7f37}\n"
    "table.small{font-size:12.5px}table.small td,table.small th{padding:2px 8px}\n"
    ".grid{display:grid;grid-template-columns:repeat(2,minmax(0,1fr));gap:14px}\n"
    ".grid figure,figure.wide{margin:0;border:1px solid var(--line);border-radius:6px;padding:6px;background:#fff}\n"
    "figure img{width:100%;height:auto;display:block}figure.wide img{max-width:1080px;margin:0 auto}\n"
    "figcaption{font-size:13px;color:var(--muted);padding:4px 2px 0}\n"
    ".tiles{display:flex;flex-wrap:wrap;gap:10px;margin:8px 0 12px}\n"
    ".tile{border:1px solid var(--line);border-radius:6px;padding:8px 14px;min-width:120px;background:var(--bg)}\n"
    ".tile b{display:block;font-size:20px}.tile span{font-size:12.5px;color:var(--muted)}\n"
    ".badge{display:inline-block;font-size:12px;font-weight:600;padding:2px 8px;border-radius:10px;"
    "vertical-align:middle;margin-left:8px}\n"
    ".ok{background:#dafbe1;color:#1a7f37}.part{background:#fff8c5;color:#7d4e00}.no{background:#eaeef2;color:#57606a}\n"
    ".pics td{padding:3px 8px;border:none}.pics td.l{font-size:13px;color:var(--muted);width:90px}\n"
    "img.px{image-rendering:pixelated;image-rendering:crisp-edges;height:64px;width:auto;display:block}\n"
    ".cols{display:flex;flex-wrap:wrap;gap:36px;align-items:flex-start}\n"
    ".cols>div{flex:0 0 auto}.cols>div.grow{flex:1 1 420px}\n"
    "details summary{cursor:pointer;color:var(--accent);margin:6px 0}\n"
    "footer{max-width:1240px;margin:0 auto;padding:12px 32px 30px;color:var(--muted);font-size:13px}\n"
    "code{background:var(--bg);padding:1px 4px;border-radius:4px;font-size:90%}\n";

static void esc(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

/* printf whose %s arguments are HTML-escaped: every string that reaches the page goes through
 * here or esc(). Supports %s, %d, %ld and %% (enough for this file). */
static void out(FILE *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    for (const char *p = fmt; *p; p++) {
        if (*p != '%') { fputc(*p, f); continue; }
        p++;
        if (*p == 's') esc(f, va_arg(ap, const char *));
        else if (*p == 'd') fprintf(f, "%d", va_arg(ap, int));
        else if (*p == 'l' && p[1] == 'd') { fprintf(f, "%ld", va_arg(ap, long)); p++; }
        else if (*p == '%') fputc('%', f);
    }
    va_end(ap);
}

static void fmt_duration(char *buf, size_t cap, double s)
{
    if (!isfinite(s)) snprintf(buf, cap, "–");
    else if (s < 60) snprintf(buf, cap, "%.1f s", s);
    else if (s < 3600) snprintf(buf, cap, "%d min %02d s", (int)(s / 60), (int)fmod(s, 60));
    else snprintf(buf, cap, "%d h %02d min", (int)(s / 3600), (int)fmod(s / 60, 60));
}

static void fmt_count(char *buf, size_t cap, long n)
{
    char raw[32];
    snprintf(raw, sizeof raw, "%ld", n);
    size_t len = strlen(raw), o = 0;
    for (size_t i = 0; i < len && o + 2 < cap; i++) {
        if (i && (len - i) % 3 == 0 && raw[i - 1] != '-') buf[o++] = ',';
        buf[o++] = raw[i];
    }
    buf[o] = '\0';
}

static void pct(FILE *f, double v)
{
    if (isfinite(v)) fprintf(f, "%.2f%%", v * 100);
    else fputs("–", f);
}

static void fix(FILE *f, double v, int digits)
{
    if (isfinite(v)) fprintf(f, "%.*f", digits, v);
    else fputs("–", f);
}

static void figure(FILE *f, const char *src, const char *alt, const char *caption, int wide)
{
    out(f, "<figure%s><img src=\"charts/%s\" alt=\"%s\">", wide ? " class=\"wide\"" : "", src, alt);
    if (caption) out(f, "<figcaption>%s</figcaption>", caption);
    fputs("</figure>\n", f);
}

static const char *status_badge(const report_arch *a, const char **cls)
{
    if (a->has_eval && a->has_metrics) { *cls = "ok"; return "trained and evaluated"; }
    if (a->has_metrics) { *cls = "part"; return "trained, not evaluated yet"; }
    *cls = "no";
    return "not trained yet";
}

/* ---- comparison ---- */

static int best_index(const report_page *r, int which)
{
    int best = -1;
    for (int i = 0; i < r->n_archs; i++) {
        const report_arch *a = &r->archs[i];
        if (!a->has_eval) continue;
        double v = which == 0 ? a->accuracy : which == 1 ? a->tta_accuracy : which == 2 ? -a->log_loss : -a->tta_log_loss;
        const report_arch *b = best >= 0 ? &r->archs[best] : NULL;
        double bv = !b ? -INFINITY : which == 0 ? b->accuracy : which == 1 ? b->tta_accuracy
                                   : which == 2 ? -b->log_loss : -b->tta_log_loss;
        if (v > bv) best = i;
    }
    return best;
}

static void comparison(FILE *f, const report_page *r)
{
    fputs("<section id=\"compare\"><h2>Comparison</h2>\n", f);
    fputs("<p class=\"note\">Accuracy and log loss on the test set (used as the validation set, as in the notebook). "
          "Plain = one pass over the clean images; TTA = mean probabilities over the clean pass and the augmented "
          "passes (airbench94: the softmax of the weighted mean log-probability of its six fixed views). Log loss is sklearn's (probabilities clipped to [1e-15, 1−1e-15], rows renormalised). "
          "Best values in green.</p>\n", f);
    fputs("<table><tr><th class=\"l\">architecture</th><th class=\"l\">status</th><th>parameters</th><th>epochs</th>"
          "<th>training time</th><th>accuracy</th><th>TTA accuracy</th><th>log loss</th><th>TTA log loss</th></tr>\n", f);
    int best[4];
    for (int w = 0; w < 4; w++) best[w] = best_index(r, w);
    for (int i = 0; i < r->n_archs; i++) {
        const report_arch *a = &r->archs[i];
        const char *cls, *st = status_badge(a, &cls);
        char pbuf[32] = "–", tbuf[32] = "–";
        if (a->has_summary) fmt_count(pbuf, sizeof pbuf, a->total_params);
        if (a->has_metrics) fmt_duration(tbuf, sizeof tbuf, a->train_seconds);
        out(f, "<tr><td class=\"l\"><a href=\"#arch-%s\">%s</a></td><td class=\"l\"><span class=\"badge %s\">%s</span></td>"
               "<td>%s</td><td>", a->name, a->name, cls, st, pbuf);
        if (a->has_metrics) fprintf(f, "%d", a->n_epochs); else fputs("–", f);
        out(f, "</td><td>%s</td>", tbuf);
        double v[4] = {a->accuracy, a->tta_accuracy, a->log_loss, a->tta_log_loss};
        for (int w = 0; w < 4; w++) {
            fprintf(f, "<td%s>", best[w] == i ? " class=\"best\"" : "");
            if (!a->has_eval) fputs("–", f);
            else if (w < 2) pct(f, v[w]);
            else fix(f, v[w], 4);
            fputs("</td>", f);
        }
        fputs("</tr>\n", f);
    }
    fputs("</table>\n", f);
    if (!report_any_trained(r)) {
        fputs("<p class=\"note\">No architecture has been trained yet: run <code>make report</code>.</p></section>\n", f);
        return;
    }
    figure(f, "compare_bars.png", "bar charts comparing the architectures",
           "Every trained architecture: accuracy with and without TTA, TTA log loss (lower is better), "
           "parameter count, epochs and training time.", 1);
    int any = 0;
    for (int i = 0; i < r->n_archs; i++) any |= report_plot_has_training(&r->archs[i]);
    if (any)
        figure(f, "compare_val_accuracy.png", "test accuracy per epoch for every architecture",
               "Test-set accuracy after every epoch (plain, no TTA), all architectures on one axis.", 1);
    fputs("</section>\n", f);
}

/* ---- dataset ---- */

static void dataset_section(FILE *f, const report_page *r)
{
    const report_data *d = &r->data;
    char b1[32], b2[32], b3[32];
    fputs("<section id=\"data\"><h2>Dataset</h2>\n<div class=\"cols\"><div>\n<h3>Images per class</h3>\n"
          "<table><tr><th class=\"l\">class</th><th>label</th><th>train</th><th>test</th></tr>\n", f);
    long tt = 0, ts = 0;
    for (int c = 0; c < d->n_classes; c++) {
        fmt_count(b1, sizeof b1, d->train_count[c]);
        fmt_count(b2, sizeof b2, d->test_count[c]);
        out(f, "<tr><td class=\"l\">%s</td><td>%d</td><td>%s</td><td>%s</td></tr>\n", d->classes[c], c, b1, b2);
        tt += d->train_count[c];
        ts += d->test_count[c];
    }
    fmt_count(b1, sizeof b1, tt);
    fmt_count(b2, sizeof b2, ts);
    fmt_count(b3, sizeof b3, tt + ts);
    out(f, "<tr class=\"total\"><td class=\"l\">total</td><td></td><td>%s</td><td>%s</td></tr></table>\n", b1, b2);
    out(f, "<p class=\"note\">%s images of %dx%d pixels in all.</p></div>\n", b3, d->train.w, d->train.h);

    fputs("<div class=\"grow\"><h3>Normalisation statistics</h3>\n"
          "<table><tr><th class=\"l\">channel</th><th>mean (computed)</th><th>mean (published)</th>"
          "<th>std (computed)</th><th>std (published)</th></tr>\n", f);
    static const char *ch[3] = {"red", "green", "blue"};
    for (int c = 0; c < 3; c++)
        fprintf(f, "<tr><td class=\"l\">%s</td><td>%.4f</td><td>%.4f</td><td>%.4f</td><td>%.4f</td></tr>\n",
                ch[c], d->mean[c], published_mean[c], d->std[c], published_std[c]);
    fputs("</table>\n<p class=\"note\">Per-channel mean and population standard deviation of pixel/255 over the "
          "training images (stats stage), beside the CIFAR-10 values the notebook hard-codes. "
          "Training and evaluation normalise with the computed values.</p></div></div>\n", f);

    fputs("<h3>Sample training images</h3>\n<p class=\"note\">The first training images of each class, "
          "as stored (the notebook's “view data”, denormalised).</p>\n<table class=\"pics\">\n", f);
    for (int c = 0; c < d->n_classes; c++) {
        char src[64];
        snprintf(src, sizeof src, "samples_%d.png", c);
        out(f, "<tr><td class=\"l\">%s</td><td><img class=\"px\" src=\"charts/%s\" alt=\"sample %s images\"></td></tr>\n",
            d->classes[c], src, d->classes[c]);
    }
    fputs("</table>\n<h3>One augmented batch</h3>\n<p class=\"note\">The first training image of every class "
          "(columns: ", f);
    for (int c = 0; c < d->n_classes; c++) out(f, "%s%s", c ? ", " : "", d->classes[c]);
    fprintf(f, "), unchanged and under %d independent draws of the training transform: reflect-pad %d pixels "
               "(edge repeated), random horizontal flip, random %dx%d crop; shown denormalised.</p>\n"
               "<table class=\"pics\">\n", REPORT_AUG_PASSES, d->train.h / 8, d->train.w, d->train.h);
    for (int p = 0; p <= REPORT_AUG_PASSES; p++) {
        char label[32];
        if (p) snprintf(label, sizeof label, "draw %d", p);
        else snprintf(label, sizeof label, "original");
        out(f, "<tr><td class=\"l\">%s</td><td><img class=\"px\" src=\"charts/augment_%d.png\" alt=\"%s\"></td></tr>\n",
            label, p, label);
    }
    fputs("</table></section>\n", f);
}

/* ---- one architecture ---- */

static void tile(FILE *f, const char *value, const char *label)
{
    out(f, "<div class=\"tile\"><b>%s</b><span>%s</span></div>", value, label);
}

static void arch_section(FILE *f, const report_arch *a)
{
    const char *cls, *st = status_badge(a, &cls);
    char buf[64], alt[128], src[160];
    out(f, "<section id=\"arch-%s\"><h2>%s<span class=\"badge %s\">%s</span></h2>\n", a->name, a->name, cls, st);

    fputs("<div class=\"tiles\">", f);
    if (a->has_eval) {
        snprintf(buf, sizeof buf, "%.2f%%", a->tta_accuracy * 100); tile(f, buf, "TTA accuracy");
        snprintf(buf, sizeof buf, "%.2f%%", a->accuracy * 100); tile(f, buf, "accuracy (plain)");
        snprintf(buf, sizeof buf, "%.4f", a->tta_log_loss); tile(f, buf, "TTA log loss");
    }
    if (a->has_summary) { fmt_count(buf, sizeof buf, a->total_params); tile(f, buf, "parameters"); }
    if (a->has_metrics) {
        snprintf(buf, sizeof buf, "%d", a->n_epochs); tile(f, buf, "epochs");
        fmt_duration(buf, sizeof buf, a->train_seconds); tile(f, buf, "training time");
        tile(f, a->device, "device");
    }
    fputs("</div>\n", f);
    if (!a->has_metrics && !a->has_eval)
        out(f, "<p class=\"note\">%s has not been trained yet; <code>make report</code> trains and evaluates it.</p>\n",
            a->name);

    if (a->has_eval) {
        if (a->tta_views)
            fputs("<h3>Plain vs TTA</h3><table><tr><th class=\"l\"></th><th>plain (1 pass)</th><th>TTA (airbench's 6 "
                  "fixed views: the image, its mirror, 1-pixel shifts up-left and down-right and their mirrors)</th>"
                  "<th>change</th></tr>\n", f);
        else
            out(f, "<h3>Plain vs TTA</h3><table><tr><th class=\"l\"></th><th>plain (1 pass)</th><th>TTA (1 + %ld passes)</th>"
                   "<th>change</th></tr>\n", a->n_aug);
        fputs("<tr><td class=\"l\">accuracy</td><td>", f); pct(f, a->accuracy);
        fputs("</td><td>", f); pct(f, a->tta_accuracy);
        fprintf(f, "</td><td>%+.2f points</td></tr>\n", (a->tta_accuracy - a->accuracy) * 100);
        fputs("<tr><td class=\"l\">log loss</td><td>", f); fix(f, a->log_loss, 4);
        fputs("</td><td>", f); fix(f, a->tta_log_loss, 4);
        fprintf(f, "</td><td>%+.4f</td></tr>\n", a->tta_log_loss - a->log_loss);
        out(f, "</table><p class=\"note\">Over %ld test images.</p>\n", a->count);
    }

    fputs("<div class=\"grid\">\n", f);
    if (report_plot_has_lrfind(a)) {
        snprintf(src, sizeof src, "%s_lrfind.png", a->name);
        snprintf(alt, sizeof alt, "%s learning-rate finder", a->name);
        char cap[256];
        snprintf(cap, sizeof cap, "lr_find(): %d iterations from lr %g towards %g%s; the weights are restored afterwards.",
                 a->n_lrf, a->start_lr, a->end_lr, a->stopped_early ? ", stopped early when the loss exceeded 4x its best" : "");
        figure(f, src, alt, cap, 0);
    }
    if (report_plot_has_training(a)) {
        snprintf(src, sizeof src, "%s_loss.png", a->name);
        snprintf(alt, sizeof alt, "%s loss per epoch", a->name);
        figure(f, src, alt, "trn_loss is fastai's smoothed training loss at the end of each epoch; val_loss is the "
                            "mean NLL on the test set. Dashed lines: a new fit() call starts.", 0);
        snprintf(src, sizeof src, "%s_accuracy.png", a->name);
        snprintf(alt, sizeof alt, "%s accuracy per epoch", a->name);
        figure(f, src, alt, "Test-set accuracy after each epoch (plain, no TTA).", 0);
        if (a->n_iter > 0) {
            snprintf(src, sizeof src, "%s_lr.png", a->name);
            snprintf(alt, sizeof alt, "%s learning-rate schedule", a->name);
            figure(f, src, alt, "Learning rate of every training iteration (warm-up and cosine annealing with restarts).", 0);
        }
    }
    if (report_plot_has_eval(a)) {
        snprintf(src, sizeof src, "%s_confusion.png", a->name);
        snprintf(alt, sizeof alt, "%s confusion matrix", a->name);
        figure(f, src, alt, "Rows: true class; columns: predicted class (TTA predictions); counts of test images.", 0);
        snprintf(src, sizeof src, "%s_perclass.png", a->name);
        snprintf(alt, sizeof alt, "%s per-class accuracy", a->name);
        figure(f, src, alt, "Accuracy on each class's test images, plain and with TTA.", 0);
    }
    fputs("</div>\n", f);
    if (a->has_lrfind && !report_plot_has_lrfind(a))
        fputs("<p class=\"note\">The lr finder recorded no iteration.</p>\n", f);
    if (!a->has_lrfind) fputs("<p class=\"note\">The lr finder has not been run yet.</p>\n", f);

    if (a->has_summary) {
        char tot[32];
        fmt_count(tot, sizeof tot, a->total_params);
        out(f, "<h3>Layer summary</h3><p class=\"note\">As fastai's <code>learn.summary()</code>: input %s; "
               "%d modules; %s parameters in all (each row counts the parameters the module owns itself, a BnLayer's "
               "a and m included, so the rows add up to the total).</p>\n"
               "<table class=\"small\"><tr><th>#</th><th class=\"l\">module</th><th class=\"l\">type</th>"
               "<th class=\"l\">input shape</th><th class=\"l\">output shape</th><th>parameters</th></tr>\n",
            a->input_shape, a->n_modules, tot);
        for (int i = 0; i < a->n_modules; i++) {
            const report_module *m = &a->modules[i];
            fmt_count(buf, sizeof buf, m->params);
            out(f, "<tr><td>%d</td><td class=\"l\">%s</td><td class=\"l\">%s</td><td class=\"l\">%s</td>"
                   "<td class=\"l\">%s</td><td>%s</td></tr>\n", i + 1, m->name, m->type, m->in_shape, m->out_shape, buf);
        }
        fputs("</table>\n", f);
    }
    if (report_plot_has_training(a)) {
        out(f, "<details><summary>Epoch log (%d epochs, %ld batches per epoch, seed %ld)</summary>\n"
               "<table class=\"small\"><tr><th>epoch</th><th>fit() call</th><th>trn_loss</th><th>val_loss</th>"
               "<th>accuracy</th><th>seconds</th></tr>\n", a->n_epochs, a->batches_per_epoch, a->seed);
        for (int i = 0; i < a->n_epochs; i++) {
            const report_epoch *e = &a->epochs[i];
            fprintf(f, "<tr><td>%d</td><td>%d</td><td>", e->epoch, e->phase + 1);
            fix(f, e->trn_loss, 6); fputs("</td><td>", f);
            fix(f, e->val_loss, 6); fputs("</td><td>", f);
            fix(f, e->accuracy, 6); fputs("</td><td>", f);
            fix(f, e->seconds, 1); fputs("</td></tr>\n", f);
        }
        fputs("</table></details>\n", f);
    }
    fputs("</section>\n", f);
}

void report_html_escape(FILE *f, const char *s) { esc(f, s); }

int report_html_write(const report_page *r, const char *path)
{
    atomic_file af;
    if (atomic_open(&af, path) != C_OK) return C_ERR;
    FILE *f = af.fp;
    char default_title[128];
    snprintf(default_title, sizeof default_title, "CIFAR-10 lesson 7: %d architecture%s, trained from C", r->n_archs,
             r->n_archs == 1 ? "" : "s");
    const char *title = r->opts->title ? r->opts->title : default_title;
    out(f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
           "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>%s</title>\n<style>\n", title);
    fputs(css, f);
    out(f, "</style></head><body>\n<header><h1>%s</h1><p>The fastai 0.7 lesson-7 CIFAR-10 notebook re-created as C "
           "stage programs. Artifacts read from <code>%s</code>.</p></header>\n", title, r->opts->art_dir);
    fputs("<nav><a href=\"#compare\">Comparison</a><a href=\"#data\">Dataset</a>", f);
    for (int i = 0; i < r->n_archs; i++) out(f, "<a href=\"#arch-%s\">%s</a>", r->archs[i].name, r->archs[i].name);
    report_sweeps_nav(f, r);
    fputs("</nav>\n<main>\n", f);
    comparison(f, r);
    report_sweeps_html(f, r);
    dataset_section(f, r);
    for (int i = 0; i < r->n_archs; i++) arch_section(f, &r->archs[i]);
    out(f, "</main>\n<footer>Generated by the <code>report</code> stage from the JSON and tensor artifacts in "
           "<code>%s</code>. Every chart is drawn by gnuplot from the data files in <code>charts/</code> "
           "(<code>cd charts &amp;&amp; gnuplot charts.gp</code> redraws them).</footer>\n</body></html>\n", r->opts->art_dir);
    return atomic_commit(&af);
}
