/* net_step.c: queued training steps: loss tickets, and the step recorded as a backend graph and
 * replayed (net_train_step, net_loss_queue, net_loss_result). */
#include <math.h>
#include "core/errors.h"
#include "nn/net_internal.h"

long net_graph_steps(const net *n) { return n->graph_steps; }

static int async_loss(const net *n) { return BE->nll_loss_queue && BE->loss_stash && BE->loss_fetch; }

long net_loss_queue(net *n, const uint8_t *labels, int batch)
{
    long tk = n->tickets++;
    int slot = (int)(tk % BACKEND_LOSS_SLOTS);
    if (!async_loss(n)) return net_loss(n, labels, batch, &n->loss_ring[slot]) == C_OK ? tk : -1;
    if (batch != n->last_n) {
        err_msg(n->model.path, "net_loss_queue: batch %d but the last forward had %d", batch, n->last_n);
        return -1;
    }
    const tensor *lab = net_upload_labels(n, labels, batch);
    if (!lab || BE->nll_loss_queue(CTX, &n->layers[n->n_layers - 1].y, lab) || BE->loss_stash(CTX, slot)) return -1;
    return tk;
}

int net_loss_result(net *n, long ticket, float *loss)
{
    int slot = (int)(ticket % BACKEND_LOSS_SLOTS);
    if (!async_loss(n)) {
        *loss = n->loss_ring[slot];
        return C_OK;
    }
    *loss = NAN;
    return BE->loss_fetch(CTX, slot, loss);
}

/* The queued step body (input and labels already on the backend): what a graph records. */
static int step_ops(net *n, int batch, uint64_t seed, uint32_t step, float lr, float momentum, float wd)
{
    if (net_forward(n, NULL, batch, 1, seed, step) != C_OK) return C_ERR;
    if (net_backward_from(n, &n->labels, 1, NULL) != C_OK) return C_ERR;
    return net_sgd_step(n, lr, momentum, wd);
}

static int key_eq(const step_key *a, const step_key *b)
{
    return a->valid && b->valid && a->batch == b->batch && a->momentum == b->momentum && a->wd == b->wd &&
           a->seed == b->seed && a->rules == b->rules;
}

/* What a recorded step bakes in besides the key's numbers: the rules' generation and which
 * tensors are frozen (FNV-1a over their indices). */
static unsigned rules_sig(const net *n)
{
    unsigned h = 2166136261u ^ n->rules_gen;
    for (int t = 0; t < n->n_pt; t++)
        if (net_tensor_frozen(n, t)) h = (h ^ (unsigned)t) * 16777619u;
    return h;
}

static void drop_graph(net *n)
{
    if (n->graph) BE->graph_free(CTX, n->graph);
    n->graph = NULL;
    n->gkey.valid = 0;
}

/* Replays the graph: C_OK, 1 when it went stale (nothing ran), C_ERR. */
static int replay(net *n, float lr, uint32_t step)
{
    if (BE->set_step_scalars(CTX, lr, step) != C_OK) return C_ERR;
    int r = BE->graph_launch(CTX, n->graph);
    if (r == C_OK) n->graph_steps++;
    return r;
}

/* Records the step as a graph and replays it: C_OK when it ran that way, 1 when it could not
 * be recorded (the capture is ended and discarded: run it uncaptured), C_ERR. */
static int record_and_replay(net *n, const step_key *k, uint32_t step, float lr)
{
    drop_graph(n);
    if (BE->graph_begin(CTX) != C_OK) return 1;
    int rc = step_ops(n, k->batch, k->seed, step, lr, k->momentum, k->wd);
    void *g = NULL;
    int erc = BE->graph_end(CTX, &g);
    if (rc != C_OK || erc != C_OK || !g) {
        if (g) BE->graph_free(CTX, g);
        return 1;
    }
    n->graph = g;
    n->gkey = *k;
    return replay(n, lr, step);
}

long net_train_step(net *n, const float *input, const uint8_t *labels, int batch, uint64_t seed, uint32_t step,
                    float lr, float momentum, float wd)
{
    long tk = n->tickets++;
    int slot = (int)(tk % BACKEND_LOSS_SLOTS);
    if (!async_loss(n)) {
        /* the synchronous sequence of net.h's typical step, unchanged */
        if (net_forward(n, input, batch, 1, seed, step) != C_OK) return -1;
        if (net_loss_backward(n, labels, batch, &n->loss_ring[slot]) != C_OK) return -1;
        if (net_sgd_step(n, lr, momentum, wd) != C_OK) return -1;
        return tk;
    }
    if (batch < 1 || batch > n->max_batch) {
        err_msg(n->model.path, "batch %d outside 1..%d", batch, n->max_batch);
        return -1;
    }
    net_set_batch(&n->input, batch);
    if (input && BE->upload(CTX, &n->input, input) != C_OK) return -1;
    if (!net_upload_labels(n, labels, batch)) return -1;
    step_key k = { 1, batch, momentum, wd, seed, rules_sig(n) };
    /* The first step after a momentum reset runs uncaptured (first_step is baked into a graph). */
    int graphs = BE->graph_begin && BE->graph_end && BE->graph_launch && BE->graph_free && BE->set_step_scalars &&
                 !n->graphs_off && !n->prof && !n->momentum_empty;
    int done = 0;
    if (graphs && n->graph && key_eq(&n->gkey, &k)) {
        int r = replay(n, lr, step);
        if (r == C_ERR) return -1;
        done = r == C_OK;
        if (!done) {            /* a scratch buffer moved (another shape grew it): record again */
            drop_graph(n);
            n->warm = k;
        }
    }
    /* Record once this shape has run uncaptured (algorithms chosen, buffers grown). */
    if (!done && graphs && key_eq(&n->warm, &k)) {
        int r = record_and_replay(n, &k, step, lr);
        if (r == C_ERR) return -1;
        done = r == C_OK;
        if (!done) {
            err_warn(n->model.path, "could not record the training step as a graph; running it uncaptured");
            drop_graph(n);
            n->graphs_off = 1;
        }
    }
    if (!done) {
        if (step_ops(n, batch, seed, step, lr, momentum, wd) != C_OK) return -1;
        n->warm = k;
    } else {
        /* what net_forward / net_sgd_step would have recorded on the host */
        net_set_layers_batch(n, batch);
        n->last_n = batch;
        n->last_training = 1;
        n->last_seed = seed;
        n->last_step = step;
        n->momentum_empty = 0;
    }
    if (BE->loss_stash(CTX, slot) != C_OK) return -1;
    return tk;
}
