/* val_mean.h: the validation loss and accuracy over a whole pass, from per-batch numbers
 * (fastai-semantics.md §4.4). */
#ifndef VAL_MEAN_H
#define VAL_MEAN_H

/* Validation numbers (fastai FINAL, model.py validate): per-batch mean loss and accuracy averaged
 * with the batch sizes as weights, i.e. the exact means over the dataset (the NB version's
 * unweighted mean would overweight the last, partial batch). */
typedef struct val_mean {
    double loss_sum;     /* sum of batch_mean_loss * batch_size */
    long correct, count;
} val_mean;

void val_mean_init(val_mean *v);
void val_mean_add(val_mean *v, double batch_mean_loss, long correct, long batch_size);
double val_mean_loss(const val_mean *v);       /* NaN when empty */
double val_mean_accuracy(const val_mean *v);

#endif
