/* net_internal.h: struct net, shared by the files of the net (net.c: build and the passes,
 * net_step.c: queued steps and graphs, net_tensors.c: the state dict, net_profile.c). */
#ifndef NET_INTERNAL_H
#define NET_INTERNAL_H

#include "nn/layer.h"
#include "nn/net.h"

/* One named tensor of the state dict, with its gradient and momentum when trainable. */
typedef struct ptensor {
    char name[96];
    int ndim, shape[4];
    int trainable;
    int group;          /* NET_GROUP_* (net.h) */
    int frozen;         /* trainable but skipped by the SGD step (net_tensor_set_frozen) */
    int init;           /* NET_INIT_* */
    float bound;        /* NET_INIT_UNIFORM: U(-bound, bound) */
    tensor val, grad, mom, saved;
} ptensor;

/* What a recorded training step depends on besides lr and step (read from device scalars). */
typedef struct step_key {
    int valid, batch;
    float momentum, wd;
    uint64_t seed;
    unsigned rules;             /* net.rules_gen and the frozen tensors (net_step.c) */
} step_key;

struct net {
    backend *be;
    model_desc model;
    int max_batch;
    int inference;              /* built by net_build_inference: no gradients */
    int n_layers;
    layer *layers;
    int n_pt, pt_cap;
    ptensor *pt;
    tensor input, labels;
    int last_n, last_training;
    uint64_t last_seed;
    uint32_t last_step;
    int momentum_empty, saved;
    double *prof;               /* NET_PROFILE=1: seconds per layer: fwd, bwd, fwd conv, bwd conv */
    int prof_steps;
    /* losses by ticket (net_train_step / net_loss_queue) on backends without asynchronous loss */
    float loss_ring[BACKEND_LOSS_SLOTS];
    long tickets;
    /* the captured training step (backend-owned graph) and what it was recorded for */
    void *graph;
    step_key gkey;              /* shapes and constants baked into graph */
    step_key warm;              /* the last uncaptured step: its shapes have run once */
    int graphs_off;             /* NET_GRAPH=0, or a capture failed */
    long graph_steps;
    /* training rules (net.c: net_set_sgd_rule, net_set_loss; net_lookahead.c) */
    int sgd_rule_on;            /* 0: plain sgd_step as the notebook's models */
    net_sgd_rule sgd_rule;
    float loss_eps;             /* label smoothing */
    int loss_sum, loss_smooth;  /* sum reduction; 1: the smoothed entries (else plain NLL) */
    unsigned rules_gen;         /* bumped by every change of the rules: a recorded step is stale */
    tensor *la;                 /* [n_pt] lookahead EMA, or NULL */
};

/* 1 when the SGD step updates tensor p: trainable and not frozen (net_tensor_set_frozen). */
static inline int net_pt_stepped(const ptensor *p) { return p->trainable && !p->frozen; }

/* net_lookahead.c: frees the EMA tensors (net_free). */
void net_lookahead_free(net *n);

#define BE (n->be->iface)
#define CTX (n->be->ctx)

/* Sets the batch dimension of an activation (no-op on an unallocated tensor). */
static inline void net_set_batch(tensor *t, int b) { if (t->ndim) t->shape[0] = b; }

/* Sets every activation of every layer to the batch size (what a forward does first). */
void net_set_layers_batch(net *n, int batch);

/* Uploads labels (NULL: already in n->labels) and sets its batch size; NULL after an error. */
const tensor *net_upload_labels(net *n, const uint8_t *labels, int batch);

/* The loss of the last training-mode forward (queued into the backend's device scalar when
 * queue, else into *loss) and the backward through every layer. */
int net_backward_from(net *n, const tensor *labels, int queue, float *loss);

/* net_profile.c: NET_PROFILE=1 in the environment turns the per-layer profile on. */
void net_prof_init(net *n);
/* After a backward: the first step (first touch of buffers, lazy set-ups) is left out. */
void net_prof_step_done(net *n);
/* Prints the profile table on stderr and frees it (net_free). */
void net_prof_finish(net *n);

#endif
