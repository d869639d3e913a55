/* checkpoint.h: a net's tensors as a safetensors file with PyTorch state_dict names and layouts
 * (architectures.md): parameters plus the BnLayer statistics `<name>.means` / `<name>.stds`
 * [C,1,1], all F32, in the net's forward order, so the bytes are deterministic.
 * Metadata: arch, seed, epochs, mean, std (normalisation, comma-separated), params_hash,
 * model_hash. A PyTorch user loads it with load_state_dict(sd, strict=False) and sets each
 * BnLayer's means/stds attributes from the extra tensors. */
#ifndef CHECKPOINT_H
#define CHECKPOINT_H

#include <stdint.h>

#include "nn/net.h"

typedef struct ckpt_meta {
    const char *arch;
    uint64_t seed;
    long epochs;
    double mean[3], std[3];
    char params_hash[17], model_hash[17];
} ckpt_meta;

/* Writes path atomically. */
int checkpoint_save(net *n, const char *path, const ckpt_meta *meta);

/* Loads every tensor of the net from path: each name must be present, F32, with the net's
 * shape and finite values; extra tensors are errors too. Errors name the file and the tensor.
 * When meta is not NULL, fills arch/seed/epochs/mean/std/hashes from the metadata: mean and std
 * must be there as three finite numbers (std positive); the other keys are left zero when
 * missing. */
int checkpoint_load(net *n, const char *path, ckpt_meta *meta);

#endif
