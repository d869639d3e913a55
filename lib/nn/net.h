/* net.h: a network built from a model file, running on any backend.
 *
 * Functions returning int return C_OK or C_ERR (after printing one line); nothing exits.
 * What each layer type does is in the layer table (nn/layer.h, nn/layers/).
 *
 * The net owns its parameters, gradients, momentum buffers, activations and the conv plans, all
 * allocated once at net_load for batches up to max_batch: training steps allocate nothing.
 * Typical step:
 *     net_forward(net, images, n, 1, seed, step);     // images: normalised NCHW [n,3,32,32]
 *     net_loss_backward(net, labels, n, &loss);        // gradients of the batch-mean NLL
 *     net_sgd_step(net, lr, 0.9f, wd);
 * Evaluation: net_forward(net, images, n, 0, 0, 0); net_output(net, logp).
 *
 * Tensors for checkpoints are numbered 0..net_n_tensors()-1 in forward order; each has its
 * PyTorch state_dict name and shape: parameters (`layers.0.conv.weight`, `out.bias`, `conv1.a`,
 * `conv1.m`) and, not trainable, the BnLayer statistics `<name>.means` / `<name>.stds` [C,1,1]
 * of the last training-mode forward (initially 0 and 1), and the BatchNorm2d running statistics
 * `<name>.running_mean` / `<name>.running_var` [C], updated by every training-mode forward. */
#ifndef NET_H
#define NET_H

#include <stdint.h>
#include <stdio.h>
#include <cjson/cJSON.h>
#include "backend/backend.h"
#include "nn/model.h"

typedef struct net net;

/* Loads models/<arch>.json and builds the net on be (borrowed: must outlive the net).
 * Parameters are uninitialised (zero) until net_init_params or net_tensor_set. */
int net_load(net **out, const char *model_json_path, backend *be, int max_batch);
/* The same from an already parsed model (copied). */
int net_build(net **out, const model_desc *m, backend *be, int max_batch);
/* A net for evaluation only (the evaluate stage, TTA, benchmarks): the same eval-mode forward, bit
 * for bit, without gradient or momentum buffers, output gradients or backward primitives. A
 * training-mode forward, a backward or an SGD step on it is an error. */
int net_load_inference(net **out, const char *model_json_path, backend *be, int max_batch);
int net_build_inference(net **out, const model_desc *m, backend *be, int max_batch);
void net_free(net *n);

const model_desc *net_model(const net *n);
int net_max_batch(const net *n);
int net_classes(const net *n);

/* PyTorch default init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for every conv/linear weight and bias
 * (fan_in = in*kh*kw), BnLayer a = 0, m = 1, statistics mean 0 / std 1; BatchNorm2d weight 1,
 * bias 0, running mean 0, running var 1; a Conv2d "dirac" weight gets dirac_ over the draw; a
 * "whiten" conv's weight and bias stay 0 (model.h). Draws element j of
 * parameter tensor t from rng_block(seed, RNG_INIT, t, j / 4) word j % 4, so the values do not
 * depend on threads or on the backend. */
int net_init_params(net *n, uint64_t seed);

/* Forward of a batch of n <= max_batch images. input: host NCHW floats [n,3,32,32], or NULL when
 * the caller already wrote net_input(net) (e.g. a device-side data loader). training: batch
 * statistics (stored for eval) and dropout with mask (dropout_seed, step). */
int net_forward(net *n, const float *input, int batch, int training, uint64_t dropout_seed, uint32_t step);
/* The input tensor [max_batch,3,32,32] TL_PLAIN (its first n images are used). */
tensor *net_input(net *n);
/* Copies the last forward's log-probabilities [n, classes] to host. */
int net_output(net *n, float *host_out);

/* Batch-mean NLL of the last forward into *loss (labels on the host, n = that forward's batch). */
int net_loss(net *n, const uint8_t *labels, int batch, float *loss);
/* The same, then backpropagates through the last (training-mode) forward: every parameter
 * gradient is overwritten. */
int net_loss_backward(net *n, const uint8_t *labels, int batch, float *loss);

/* The labels tensor U8 [max_batch] on the backend. Functions taking host labels accept NULL
 * when the caller already wrote the batch's labels here (the device-side data loader). */
tensor *net_labels(net *n);

/* One whole training step: net_forward (training), the loss, the backward and net_sgd_step, as
 * the three calls above would do them (byte for byte the same on the CPU). input/labels NULL:
 * already in net_input/net_labels. Returns a ticket for net_loss_result, or -1 after an error.
 * On a backend with the asynchronous entries the loss is not waited for, and once a batch size
 * has run uncaptured once the step is recorded as a graph and replayed from then on
 * (NET_GRAPH=0 in the environment turns graphs off). At most BACKEND_LOSS_SLOTS tickets may be
 * outstanding. */
long net_train_step(net *n, const float *input, const uint8_t *labels, int batch, uint64_t dropout_seed,
                    uint32_t step, float lr, float momentum, float wd);
/* net_loss queued the same way after an eval-mode forward; a ticket, or -1 after an error. */
long net_loss_queue(net *n, const uint8_t *labels, int batch);
/* The loss of a ticket into *loss (waits for that step only). Tickets must be read within
 * BACKEND_LOSS_SLOTS of each other. */
int net_loss_result(net *n, long ticket, float *loss);
/* Training steps run by replaying a graph so far (0 on the CPU). */
long net_graph_steps(const net *n);

/* One SGD step with PyTorch semantics (coupled weight decay, momentum buffers), under the rule
 * of net_set_sgd_rule; frozen tensors (net_tensor_frozen) are left alone (no decay, no momentum). */
int net_sgd_step(net *n, float lr, float momentum, float wd);

/* The optimiser's rule: torch.optim.SGD with one param group per tensor group
 * (net_tensor_group: NET_GROUP_DEFAULT, NET_GROUP_NORM_BIAS). Group g steps with lr *
 * lr_scale[g] (the lr of net_sgd_step is the scheduled one) and, when wd_per_group, the coupled
 * decay wd[g] instead of net_sgd_step's wd (airbench's decoupled form: wd[g] = wd / lr_g);
 * nesterov: torch's nesterov=True. NULL: the plain rule (sgd_step, as the notebook's models). */
#define NET_SGD_GROUPS 2
typedef struct net_sgd_rule {
    int nesterov;
    float lr_scale[NET_SGD_GROUPS];
    int wd_per_group;
    float wd[NET_SGD_GROUPS];
} net_sgd_rule;
int net_set_sgd_rule(net *n, const net_sgd_rule *r);

/* The training loss (net_loss_backward, net_train_step): label smoothing eps and a summed
 * (sum = 1) or mean reduction (torch CrossEntropyLoss(label_smoothing=eps, reduction=...));
 * (0, 0), the default, is the plain batch-mean NLL. net_loss / net_loss_queue (validation) stay
 * the plain batch-mean NLL. */
int net_set_loss(net *n, float label_smoothing, int sum);

/* Lookahead (airbench): an EMA copy of every tensor of the state dict (parameters and
 * statistics). start: the copy = the net; update(decay): copy = lerp(copy, net, 1 - decay), then
 * net = copy (decay 1: the net goes back to the copy). get/set: the copy of tensor i as host
 * floats (a training state; set starts the copy when none is). stop frees the copy. */
int net_lookahead_start(net *n);
int net_lookahead_update(net *n, double decay);
int net_lookahead_active(const net *n);
int net_lookahead_get(net *n, int i, float *host);
int net_lookahead_set(net *n, int i, const float *host);
void net_lookahead_stop(net *n);
/* Empties the momentum buffers: the next step starts them from the gradient (new optimizer). */
void net_reset_momentum(net *n);

/* Checkpoint access. info: name (owned by the net), ndim and shape; trainable = 0 for statistics
 * and for frozen parameters (a BatchNorm2d weight, a whitening conv's weight: they have no
 * gradient or momentum buffer). */
int net_n_tensors(const net *n);
int net_tensor_info(const net *n, int i, const char **name, int *ndim, int shape[4], int *trainable);
int net_tensor_find(const net *n, const char *name);          /* index or -1 */
size_t net_tensor_numel(const net *n, int i);
int net_tensor_get(net *n, int i, float *host);
int net_tensor_set(net *n, int i, const float *host);
/* Optimiser groups: BatchNorm2d biases (airbench trains them with the learning rate x64) and
 * every other tensor. */
enum { NET_GROUP_DEFAULT = 0, NET_GROUP_NORM_BIAS = 1 };
/* The group of tensor i (NET_GROUP_DEFAULT for statistics too; C_ERR for a bad index). */
int net_tensor_group(const net *n, int i);
/* Freezes (1) or unfreezes (0) trainable tensor i: the SGD step skips a frozen tensor (its
 * gradient may still be computed; its momentum buffer is kept). C_ERR for a bad index or a
 * tensor that is not trainable. */
int net_tensor_set_frozen(net *n, int i, int frozen);
/* 1 when trainable tensor i is frozen, else 0 (also for tensors that are not trainable). */
int net_tensor_frozen(const net *n, int i);

/* The gradient of trainable tensor i after net_loss_backward (zeros for statistics). */
int net_grad_get(net *n, int i, float *host);

/* Momentum buffers of trainable tensor i (a training state to resume from): net_momentum_empty
 * says whether the next step starts them afresh (after net_reset_momentum); net_momentum_set
 * fills one and makes the next step continue from it. */
int net_momentum_empty(const net *n);
int net_momentum_get(net *n, int i, float *host);
int net_momentum_set(net *n, int i, const float *host);

/* Snapshot of every tensor (parameters and statistics) inside the net, e.g. for lr_find. */
int net_params_save(net *n);
int net_params_restore(net *n);

/* The model's summary rows (model_summary_json) with "arch", "input", "total_params". */
cJSON *net_summary_json(const net *n);
void net_summary_print(const net *n, FILE *f);

#endif
