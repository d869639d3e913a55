#!/usr/bin/env python3
"""airbench_torch.py: airbench94 (Keller Jordan's cifar10-airbench, legacy/airbench94.py, the
non-Muon version) in PyTorch on the CPU, on this project's data: the reference the C airbench94
model is compared with (issue 14: same data, same seeds, accuracy within 0.2 points; time against
the same cores). Benchmarking and cross-checking only: never run by the tests or CI.

Faithful to airbench94.py: the 2x2 whitening conv from the patch covariance of the first 5,000
training images (frozen weights, bias trained for the first 3 epochs), dirac-initialised 3x3 convs,
BatchNorm (eps 1e-12, momentum 0.4, weight frozen at 1), GELU, widths 64/256/256, Linear without
bias scaled by 1/9; label smoothing 0.2 with the loss summed over the batch; Nesterov SGD,
momentum 0.85, two groups (BatchNorm biases at lr x 64) in airbench's decoupled parametrisation;
the triangular schedule; lookahead every 5 steps; translate 2 (reflect padding) and alternating
flip; batch 1024 with drop_last; 9.9 epochs; TTA level 2. The differences: float32 on the CPU
(airbench: float16 on a GPU), torch.set_num_threads(--threads), the images in channels_last, the
normalisation from this project's stats.json (airbench: fixed CIFAR constants), and the data from
artifacts/data/{train,test}.safetensors (docs/artifacts.md: `images` U8 [N, 32, 32, 3], `labels`).

Usage (the venv needs torch, numpy, safetensors):
  python tests/bench/airbench_torch.py --data artifacts/data --stats artifacts/stats.json \
      --seed 0 --threads 2 [--epochs 9.9] [--limit-steps N] [--json OUT]
Prints one line per epoch, then the TTA-level-2 accuracy, the training seconds (whitening and
training steps, not the per-epoch evaluation, as airbench times it), images/s, and a last line of
JSON with these numbers (also written to --json OUT). --limit-steps N stops after N training steps
(the schedules still count the full run): for quick checks only.
"""
import argparse
import json
import sys
import time
from math import ceil

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.numpy import load_file

HYP = {
    'opt': {
        'train_epochs': 9.9,
        'batch_size': 1024,
        'lr': 11.5,                 # per 1024 examples
        'momentum': 0.85,
        'weight_decay': 0.0153,     # per 1024 examples, decoupled from the lr
        'bias_scaler': 64.0,        # lr multiplier (not wd) of the BatchNorm biases
        'label_smoothing': 0.2,
        'whiten_bias_epochs': 3,
    },
    'aug': {'flip': True, 'translate': 2},
    'net': {
        'widths': {'block1': 64, 'block2': 256, 'block3': 256},
        'batchnorm_momentum': 0.6,  # airbench's convention: PyTorch momentum = 1 - 0.6
        'scaling_factor': 1 / 9,
        'tta_level': 2,
    },
}
WHITEN_IMAGES = 5000
WHITEN_EPS = 5e-4


# ---- data ----

def load_split(data_dir, name):
    t = load_file(f"{data_dir}/{name}.safetensors")
    images = torch.from_numpy(t["images"]).permute(0, 3, 1, 2).float().div_(255)   # NHWC uint8 -> NCHW
    return images.contiguous(memory_format=torch.channels_last), torch.from_numpy(t["labels"].astype(np.int64))


def batch_flip_lr(inputs):
    flip_mask = (torch.rand(len(inputs)) < 0.5).view(-1, 1, 1, 1)
    return torch.where(flip_mask, inputs.flip(-1), inputs)


def batch_crop(images, crop_size):
    """A random crop of each (padded) image: shifts in [-r, r] on both axes, as airbench."""
    r = (images.size(-1) - crop_size) // 2
    shifts = torch.randint(-r, r + 1, size=(len(images), 2))
    out = torch.empty((len(images), 3, crop_size, crop_size), dtype=images.dtype).contiguous(
        memory_format=torch.channels_last)
    for sy in range(-r, r + 1):
        for sx in range(-r, r + 1):
            mask = (shifts[:, 0] == sy) & (shifts[:, 1] == sx)
            out[mask] = images[mask, :, r + sy:r + sy + crop_size, r + sx:r + sx + crop_size]
    return out


class CifarLoader:
    """airbench's loader: normalise once; epoch 0 flips each image at random and pre-pads; every
    epoch crops at random from the padded images and, on odd epochs, flips them all (alternating
    flip); a new permutation per epoch; drop_last for training."""

    def __init__(self, images, labels, mean, std, batch_size, train, aug=None):
        self.images, self.labels = images, labels
        self.mean, self.std = mean.view(1, 3, 1, 1), std.view(1, 3, 1, 1)
        self.batch_size, self.train, self.aug = batch_size, train, aug or {}
        self.proc = {}
        self.epoch = 0

    def normalize(self, x):
        return ((x - self.mean) / self.std).contiguous(memory_format=torch.channels_last)

    def __len__(self):
        return len(self.images) // self.batch_size if self.train else ceil(len(self.images) / self.batch_size)

    def __iter__(self):
        if self.epoch == 0:
            images = self.proc['norm'] = self.normalize(self.images)
            if self.aug.get('flip', False):
                images = self.proc['flip'] = batch_flip_lr(images)
            pad = self.aug.get('translate', 0)
            if pad > 0:
                self.proc['pad'] = F.pad(images, (pad,) * 4, 'reflect')
        if self.aug.get('translate', 0) > 0:
            images = batch_crop(self.proc['pad'], self.images.shape[-2])
        elif self.aug.get('flip', False):
            images = self.proc['flip']
        else:
            images = self.proc['norm']
        if self.aug.get('flip', False) and self.epoch % 2 == 1:
            images = images.flip(-1)
        self.epoch += 1
        indices = torch.randperm(len(images)) if self.train else torch.arange(len(images))
        for i in range(len(self)):
            idxs = indices[i * self.batch_size:(i + 1) * self.batch_size]
            yield images[idxs].contiguous(memory_format=torch.channels_last), self.labels[idxs]


# ---- network ----

class Flatten(nn.Module):
    def forward(self, x):
        return x.view(x.size(0), -1)


class Mul(nn.Module):
    def __init__(self, scale):
        super().__init__()
        self.scale = scale

    def forward(self, x):
        return x * self.scale


class BatchNorm(nn.BatchNorm2d):
    def __init__(self, num_features, momentum, eps=1e-12, weight=False, bias=True):
        super().__init__(num_features, eps=eps, momentum=1 - momentum)
        self.weight.requires_grad = weight
        self.bias.requires_grad = bias


class Conv(nn.Conv2d):
    def __init__(self, channels_in, channels_out, kernel_size=3, padding='same', bias=False):
        super().__init__(channels_in, channels_out, kernel_size=kernel_size, padding=padding, bias=bias)

    def reset_parameters(self):
        super().reset_parameters()
        if self.bias is not None:
            self.bias.data.zero_()
        w = self.weight.data
        torch.nn.init.dirac_(w[:w.size(1)])


class ConvGroup(nn.Module):
    def __init__(self, channels_in, channels_out, batchnorm_momentum):
        super().__init__()
        self.conv1 = Conv(channels_in, channels_out)
        self.pool = nn.MaxPool2d(2)
        self.norm1 = BatchNorm(channels_out, batchnorm_momentum)
        self.conv2 = Conv(channels_out, channels_out)
        self.norm2 = BatchNorm(channels_out, batchnorm_momentum)
        self.activ = nn.GELU()

    def forward(self, x):
        x = self.activ(self.norm1(self.pool(self.conv1(x))))
        return self.activ(self.norm2(self.conv2(x)))


def make_net():
    widths, bn_mom = HYP['net']['widths'], HYP['net']['batchnorm_momentum']
    whiten_kernel_size = 2
    whiten_width = 2 * 3 * whiten_kernel_size ** 2
    net = nn.Sequential(
        Conv(3, whiten_width, whiten_kernel_size, padding=0, bias=True),
        nn.GELU(),
        ConvGroup(whiten_width, widths['block1'], bn_mom),
        ConvGroup(widths['block1'], widths['block2'], bn_mom),
        ConvGroup(widths['block2'], widths['block3'], bn_mom),
        nn.MaxPool2d(3),
        Flatten(),
        nn.Linear(widths['block3'], 10, bias=False),
        Mul(HYP['net']['scaling_factor']),
    )
    net[0].weight.requires_grad = False
    return net.to(memory_format=torch.channels_last)


# ---- whitening ----

def get_patches(x, patch_shape):
    c, (h, w) = x.shape[1], patch_shape
    return x.unfold(2, h, 1).unfold(3, w, 1).transpose(1, 3).reshape(-1, c, h, w).float()


def get_whitening_parameters(patches):
    n, c, h, w = patches.shape
    patches_flat = patches.view(n, -1)
    est_patch_covariance = (patches_flat.T @ patches_flat) / n
    eigenvalues, eigenvectors = torch.linalg.eigh(est_patch_covariance, UPLO='U')
    return eigenvalues.flip(0).view(-1, 1, 1, 1), eigenvectors.T.reshape(c * h * w, c, h, w).flip(0)


def init_whitening_conv(layer, train_set, eps=WHITEN_EPS):
    patches = get_patches(train_set.contiguous(), patch_shape=layer.weight.data.shape[2:])
    eigenvalues, eigenvectors = get_whitening_parameters(patches)
    eigenvectors_scaled = eigenvectors / torch.sqrt(eigenvalues + eps)
    layer.weight.data[:] = torch.cat((eigenvectors_scaled, -eigenvectors_scaled))


# ---- lookahead ----

class LookaheadState:
    def __init__(self, net):
        self.net_ema = {k: v.clone() for k, v in net.state_dict().items()}

    def update(self, net, decay):
        for ema_param, net_param in zip(self.net_ema.values(), net.state_dict().values()):
            if net_param.dtype in (torch.half, torch.float):
                ema_param.lerp_(net_param, 1 - decay)
                net_param.copy_(ema_param)


# ---- evaluation ----

def infer(model, loader, tta_level=0):
    def infer_basic(inputs, net):
        return net(inputs).clone()

    def infer_mirror(inputs, net):
        return 0.5 * net(inputs) + 0.5 * net(inputs.flip(-1))

    def infer_mirror_translate(inputs, net):
        logits = infer_mirror(inputs, net)
        padded = F.pad(inputs, (1,) * 4, 'reflect')
        translated = [padded[:, :, 0:32, 0:32], padded[:, :, 2:34, 2:34]]
        logits_translate = torch.stack([infer_mirror(t, net) for t in translated]).mean(0)
        return 0.5 * logits + 0.5 * logits_translate

    model.eval()
    test_images = loader.normalize(loader.images)
    infer_fn = [infer_basic, infer_mirror, infer_mirror_translate][tta_level]
    with torch.no_grad():
        return torch.cat([infer_fn(inputs, model) for inputs in test_images.split(2000)])


def evaluate(model, loader, tta_level=0):
    logits = infer(model, loader, tta_level)
    return (logits.argmax(1) == loader.labels).float().mean().item()


# ---- training ----

def fit(model, train_loader, epochs, limit_steps=0, on_epoch=None):
    """airbench94's training loop (its main() without the data and the timing of evaluation):
    Nesterov SGD in two groups, the triangular schedule, lookahead every 5 steps and at the end,
    the whitening bias trained for whiten_bias_epochs. train_loader: len() batches per epoch,
    iterated once per epoch. on_epoch(epoch, steps, seconds, epoch_steps, loss, outputs, labels)
    after each epoch. Returns (per-step losses, steps, seconds spent in training steps)."""
    opt = HYP['opt']
    batch_size, momentum = opt['batch_size'], opt['momentum']
    kilostep_scale = 1024 * (1 + 1 / (1 - momentum))
    lr = opt['lr'] / kilostep_scale
    wd = opt['weight_decay'] * batch_size / kilostep_scale
    lr_biases = lr * opt['bias_scaler']
    loss_fn = nn.CrossEntropyLoss(label_smoothing=opt['label_smoothing'], reduction='none')
    total_train_steps = ceil(len(train_loader) * epochs)

    norm_biases = [p for k, p in model.named_parameters() if 'norm' in k and p.requires_grad]
    other_params = [p for k, p in model.named_parameters() if 'norm' not in k and p.requires_grad]
    param_configs = [dict(params=norm_biases, lr=lr_biases, weight_decay=wd / lr_biases),
                     dict(params=other_params, lr=lr, weight_decay=wd / lr)]
    optimizer = torch.optim.SGD(param_configs, momentum=momentum, nesterov=True)

    def get_lr(step):
        warmup_steps = int(total_train_steps * 0.23)
        warmdown_steps = total_train_steps - warmup_steps
        if step < warmup_steps:
            frac = step / warmup_steps
            return 0.2 * (1 - frac) + 1.0 * frac
        frac = (step - warmup_steps) / warmdown_steps
        return 1.0 * (1 - frac) + 0.07 * frac
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, get_lr)

    alpha_schedule = 0.95 ** 5 * (torch.arange(total_train_steps + 1) / total_train_steps) ** 3
    lookahead_state = LookaheadState(model)

    losses, current_steps, seconds = [], 0, 0.0
    limit = limit_steps if limit_steps > 0 else total_train_steps
    for epoch in range(ceil(epochs)):
        model[0].bias.requires_grad = (epoch < opt['whiten_bias_epochs'])
        t0 = time.perf_counter()
        model.train()
        steps_before = current_steps
        for inputs, labels in train_loader:
            outputs = model(inputs)
            loss = loss_fn(outputs, labels).sum()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            losses.append(loss.item())
            current_steps += 1
            if current_steps % 5 == 0:
                lookahead_state.update(model, decay=alpha_schedule[current_steps].item())
            if current_steps >= total_train_steps:
                lookahead_state.update(model, decay=1.0)
                break
            if current_steps >= limit:
                break
        epoch_seconds = time.perf_counter() - t0
        seconds += epoch_seconds
        if on_epoch:
            on_epoch(epoch, current_steps, epoch_seconds, current_steps - steps_before, loss, outputs, labels)
        if current_steps >= limit:
            break
    return losses, current_steps, seconds



def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--data', required=True, help='folder with train.safetensors and test.safetensors')
    ap.add_argument('--stats', required=True, help="stats.json (this project's normalisation)")
    ap.add_argument('--seed', type=int, required=True)
    ap.add_argument('--threads', type=int, required=True)
    ap.add_argument('--epochs', type=float, default=HYP['opt']['train_epochs'])
    ap.add_argument('--limit-steps', type=int, default=0, help='stop after N steps (quick checks)')
    ap.add_argument('--json', help='also write the result line here')
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    stats = json.load(open(args.stats))
    mean, std = torch.tensor(stats['mean'], dtype=torch.float32), torch.tensor(stats['std'], dtype=torch.float32)
    train_images, train_labels = load_split(args.data, 'train')
    test_images, test_labels = load_split(args.data, 'test')

    opt = HYP['opt']
    batch_size, epochs, momentum = opt['batch_size'], args.epochs, opt['momentum']
    test_loader = CifarLoader(test_images, test_labels, mean, std, 2000, train=False)
    train_loader = CifarLoader(train_images, train_labels, mean, std, batch_size, train=True, aug=HYP['aug'])
    if len(train_loader) == 0:
        sys.exit(f"airbench_torch: {args.data}: fewer than {batch_size} training images")
    total_train_steps = ceil(len(train_loader) * epochs)

    model = make_net()
    print(f"airbench_torch: torch {torch.__version__}, {args.threads} threads, seed {args.seed}, "
          f"{len(train_images)} train / {len(test_images)} test images, {total_train_steps} steps "
          f"of {batch_size} ({len(train_loader)} per epoch)", flush=True)
    t0 = time.perf_counter()
    init_whitening_conv(model[0], train_loader.normalize(train_images[:WHITEN_IMAGES]))
    whiten_seconds = time.perf_counter() - t0

    def report(epoch, steps, step_seconds, epoch_steps, loss, outputs, labels):
        val_acc = evaluate(model, test_loader, tta_level=0)
        report.val_acc = val_acc
        print(f"epoch {epoch:2d}  steps {steps:4d}  train_loss {loss.item() / batch_size:.4f}  "
              f"train_acc {(outputs.detach().argmax(1) == labels).float().mean().item():.4f}  "
              f"val_acc {val_acc:.4f}  epoch_seconds {step_seconds:.2f}  "
              f"s/step {step_seconds / max(epoch_steps, 1):.3f}", flush=True)
    _, current_steps, step_seconds = fit(model, train_loader, epochs, args.limit_steps, report)
    train_seconds = whiten_seconds + step_seconds
    val_acc = report.val_acc

    t0 = time.perf_counter()
    tta_val_acc = evaluate(model, test_loader, tta_level=HYP['net']['tta_level'])
    tta_seconds = time.perf_counter() - t0
    images = current_steps * batch_size
    result = {
        "script": "airbench_torch", "torch": torch.__version__, "seed": args.seed, "threads": args.threads,
        "epochs": epochs, "steps": current_steps, "total_steps": total_train_steps, "batch_size": batch_size,
        "train_images": len(train_images), "test_images": len(test_images),
        "accuracy": val_acc, "tta_accuracy": tta_val_acc,
        "train_seconds": round(train_seconds, 3), "tta_seconds": round(tta_seconds, 3),
        "seconds_per_step": round(train_seconds / max(current_steps, 1), 4),
        "images_per_second": round(images / train_seconds, 1) if train_seconds > 0 else None,
    }
    print(f"TTA level 2 accuracy {tta_val_acc:.4f}  train_seconds {train_seconds:.2f}  "
          f"images/s {result['images_per_second']}  (TTA {tta_seconds:.2f} s)")
    line = json.dumps(result)
    print(line, flush=True)
    if args.json:
        with open(args.json, 'w') as f:
            f.write(line + '\n')


if __name__ == '__main__':
    main()
