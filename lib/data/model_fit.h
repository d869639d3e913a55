/* model_fit.h: does a model file fit the data and the batch size? Checked by train, lrfind and
 * evaluate after the data is loaded and before the net is built, so a mismatch is reported as
 * one line naming the files, never as an allocation failure of activations for the wrong shape. */
#ifndef MODEL_FIT_H
#define MODEL_FIT_H

#include "data/dataset.h"

/* The model file's input [C,H,W] against the images of each of ds[0..n) (h x w x 3), its
 * classes against their labels, and its largest activation times batch_size against
 * MODEL_FIT_MAX_BATCH_VALUES. Reads only the model file (no net is built). */
int model_fit_data(const char *model_path, int batch_size, const dataset *const *ds, int n);

/* batch_size (from params_path) is at most the number of training images in trn. */
int model_fit_batch(const char *params_path, int batch_size, const dataset *trn);

/* Values of one layer's output for a whole batch: the backends index them with int. */
#define MODEL_FIT_MAX_BATCH_VALUES 2147483647LL

#endif
