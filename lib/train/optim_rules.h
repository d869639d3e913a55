/* optim_rules.h: the params' optimiser rule and tensor freezing, set on a net; the trainer and the
 * lr finder share them, so a sweep steps as the training it is for. */
#ifndef OPTIM_RULES_H
#define OPTIM_RULES_H

#include "nn/net.h"
#include "train/train_params.h"

/* The rule of phase f: Nesterov, the BatchNorm biases' lr scale and airbench's decoupled decay
 * as torch's coupled SGD param groups (weight_decay = wd / lr_group). f NULL: the lr finder's,
 * the same Nesterov and lr scales with lr_find.wd passed to each step in the coupled form. The
 * plain rule (NULL) when the params ask for none of them: the notebook's models step as ever. */
int optim_rules_set(net *n, const train_params *p, const fit_phase *f);

/* "freeze": each named tensor trains in run epochs 0 .. after_epochs-1 (airbench's whitening
 * bias: requires_grad = epoch < 3, set at the start of every epoch). One line naming the key
 * when the model has no such tensor. */
int optim_rules_freeze(net *n, const train_params *p, long epoch);

#endif
