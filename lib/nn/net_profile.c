/* net_profile.c: NET_PROFILE=1: time per layer and per training step, printed when the net is freed. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "nn/net_internal.h"

static double prof_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

void net_prof_init(net *n)
{
    if (getenv("NET_PROFILE")) n->prof = xcalloc(4 * (size_t)n->model.n_layers, sizeof(double));
}

int net_prof_start(net *n, double *t0)
{
    *t0 = 0;
    if (!n->prof) return C_OK;
    if (BE->sync(CTX) != C_OK) return C_ERR;
    *t0 = prof_now();
    return C_OK;
}

int net_prof_add(net *n, int column, int i, double t0)
{
    if (!n->prof) return C_OK;
    if (BE->sync(CTX) != C_OK) return C_ERR;
    n->prof[column * n->n_layers + i] += prof_now() - t0;
    return C_OK;
}

void net_prof_step_done(net *n)
{
    if (n->prof && n->prof_steps++ == 0) memset(n->prof, 0, 4 * (size_t)n->n_layers * sizeof(double));
}

/* The report on stderr: ms per training step per layer, the convolution (oneDNN, weight
 * reorders included) apart from the rest of the layer (BnLayer, skip, ReLU masks...). */
void net_prof_finish(net *n)
{
    if (!n->prof) return;
    int L = n->n_layers, st = n->prof_steps > 1 ? n->prof_steps - 1 : 1;
    const double *p = n->prof;
    double tot[4] = { 0 };
    fprintf(stderr, "NET_PROFILE %s, ms per step over %d steps after the first\n", n->model.arch, st);
    fprintf(stderr, "%-12s %-12s %9s %9s %9s %9s\n", "layer", "type", "fwd conv", "fwd rest", "bwd conv", "bwd rest");
    for (int i = 0; i < L; i++) {
        double fc = p[NET_PROF_FWD_CONV * L + i], bc = p[NET_PROF_BWD_CONV * L + i];
        double v[4] = { fc, p[NET_PROF_FWD * L + i] - fc, bc, p[NET_PROF_BWD * L + i] - bc };
        fprintf(stderr, "%-12s %-12s", n->model.layers[i].name, model_type_name(n->model.layers[i].type));
        for (int k = 0; k < 4; k++) { fprintf(stderr, " %9.2f", 1e3 * v[k] / st); tot[k] += v[k]; }
        fprintf(stderr, "\n");
    }
    fprintf(stderr, "%-12s %-12s", "total", "");
    for (int k = 0; k < 4; k++) fprintf(stderr, " %9.2f", 1e3 * tot[k] / st);
    fprintf(stderr, "\n");
    free(n->prof);
    n->prof = NULL;
}
