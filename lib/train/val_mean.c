/* val_mean.c: batch-size-weighted means of the validation loss and accuracy. */
#include "train/val_mean.h"

#include <math.h>

void val_mean_init(val_mean *v)
{
    v->loss_sum = 0;
    v->correct = v->count = 0;
}

void val_mean_add(val_mean *v, double batch_mean_loss, long correct, long batch_size)
{
    v->loss_sum += batch_mean_loss * (double)batch_size;
    v->correct += correct;
    v->count += batch_size;
}

double val_mean_loss(const val_mean *v) { return v->count ? v->loss_sum / (double)v->count : NAN; }

double val_mean_accuracy(const val_mean *v) { return v->count ? (double)v->correct / (double)v->count : NAN; }
