/* optim_rules.c: a phase's optimiser rule and an epoch's frozen tensors, set on the net (see
 * optim_rules.h). */
#include "train/optim_rules.h"

#include <string.h>

#include "core/errors.h"

int optim_rules_set(net *n, const train_params *p, const fit_phase *f)
{
    if (!train_params_sgd_rule(p)) return net_set_sgd_rule(n, NULL);
    net_sgd_rule r;
    memset(&r, 0, sizeof r);
    r.nesterov = p->nesterov;
    r.lr_scale[NET_GROUP_DEFAULT] = 1.0f;
    r.lr_scale[NET_GROUP_NORM_BIAS] = p->bias_lr_scale > 0 ? (float)p->bias_lr_scale : 1.0f;
    r.wd_per_group = f && f->wd_decoupled;
    for (int g = 0; g < NET_SGD_GROUPS && r.wd_per_group; g++)
        r.wd[g] = (float)(f->wd / (f->lr * (double)r.lr_scale[g]));   /* Python: wd / lr_biases */
    return net_set_sgd_rule(n, &r);
}

int optim_rules_freeze(net *n, const train_params *p, long epoch)
{
    for (int i = 0; i < p->n_freeze; i++) {
        int k = net_tensor_find(n, p->freeze[i].tensor);
        if (k < 0) return err_msg(NULL, "freeze[%d].tensor: the model has no tensor \"%s\"", i, p->freeze[i].tensor);
        if (net_tensor_set_frozen(n, k, epoch >= p->freeze[i].after_epochs) != C_OK) return C_ERR;
    }
    return C_OK;
}
