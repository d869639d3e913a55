/* stats: per-channel mean and population std of pixel/255 over the training images.
 *
 *   stats --data artifacts/data/train.safetensors --out artifacts/stats.json */
#include "core/errors.h"
#include "io/safetensors.h"
#include "data/norm_stats.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    err_init(argv[0]);
    const char *data = NULL, *out = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--data")) data = argv[i + 1];
        else if (!strcmp(argv[i], "--out")) out = argv[i + 1];
        else data = NULL, i = argc;
    }
    if (!data || !out || argc != 5) err_die(NULL, "usage: stats --data FILE --out FILE");

    safetensors_file f;
    CHECK_OK(safetensors_read(&f, data));
    const safetensors_tensor *t = safetensors_expect(&f, "images", SAFETENSORS_U8, 4);
    if (!t) err_exit();
    if (t->shape[3] != 3 || t->shape[0] < 1 || t->shape[1] < 1 || t->shape[2] < 1)
        err_die(data, "images: expected shape [N>0, H, W, 3]");
    norm_stats_result r;
    norm_stats_compute(t->data, (size_t)t->shape[0], (size_t)(t->shape[1] * t->shape[2]), &r);
    safetensors_free(&f);
    CHECK_OK(norm_stats_write_json(out, &r));
    printf("stats: %ld images: mean %.4f %.4f %.4f, std %.4f %.4f %.4f\n", r.count, r.mean[0],
           r.mean[1], r.mean[2], r.std[0], r.std[1], r.std[2]);
    return 0;
}
