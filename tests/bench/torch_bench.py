#!/usr/bin/env python3
"""torch_bench.py: the PyTorch peer for tests/bench/gpu_bench.sh (benchmarking only).

The seven models of docs/architectures.md written as the lesson-7 notebook writes them (BnLayer
with its hand-written batch norm after the ReLU, unbiased std, no eps), trained with the same batch
size (256), SGD with momentum 0.9 and weight decay, NLL loss, and the same augmentation done on the
GPU as tensor ops: reflect pad 4 with the edge repeated (cv2.BORDER_REFLECT), random horizontal flip,
random 32x32 crop, normalisation; the dataset lives on the GPU as uint8 NHWC and is gathered through a
per-epoch permutation, exactly as this project's device data path does.

An "epoch" is one pass over the training images (last partial batch kept) plus one eval pass over
the test images, the same definition gpu_bench.sh uses for this project. Data are random bytes of the
real sizes (throughput does not depend on pixel values). The first epoch is warm-up (cuDNN autotune,
torch.compile compilation); the following epochs are timed.

Output: human lines, then one machine line per run:
  RESULT <arch> <mode> <images_per_s> <epoch_s> <train_gflop_per_image>
images_per_s = training images / timed epoch time (validation included, so it is conservative).
train_gflop_per_image counts 3 x 2 x the multiply-adds of every Conv2d and Linear in one forward
(forward + input gradient + weight gradient), the figure gpu_bench.sh turns into TFLOP/s.
"""
import argparse
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


# ---- the notebook's models ----

class SimpleNet(nn.Module):
    def __init__(self, layers):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(layers[i], layers[i + 1]) for i in range(len(layers) - 1)])

    def forward(self, x):
        x = x.view(x.size(0), -1)
        for l in self.layers:
            l_x = l(x)
            x = F.relu(l_x)
        return F.log_softmax(l_x, dim=-1)


class ConvNet(nn.Module):
    def __init__(self, layers, c):
        super().__init__()
        self.layers = nn.ModuleList([nn.Conv2d(layers[i], layers[i + 1], kernel_size=3, stride=2)
                                     for i in range(len(layers) - 1)])
        self.pool = nn.AdaptiveMaxPool2d(1)
        self.out = nn.Linear(layers[-1], c)

    def forward(self, x):
        for l in self.layers:
            x = F.relu(l(x))
        x = self.pool(x)
        x = x.view(x.size(0), -1)
        return F.log_softmax(self.out(x), dim=-1)


class ConvLayer(nn.Module):
    def __init__(self, ni, nf):
        super().__init__()
        self.conv = nn.Conv2d(ni, nf, kernel_size=3, stride=2, padding=1)

    def forward(self, x):
        return F.relu(self.conv(x))


class ConvNet2(nn.Module):
    def __init__(self, layers, c):
        super().__init__()
        self.layers = nn.ModuleList([ConvLayer(layers[i], layers[i + 1]) for i in range(len(layers) - 1)])
        self.out = nn.Linear(layers[-1], c)

    def forward(self, x):
        for l in self.layers:
            x = l(x)
        x = F.adaptive_max_pool2d(x, 1)
        x = x.view(x.size(0), -1)
        return F.log_softmax(self.out(x), dim=-1)


class BnLayer(nn.Module):
    def __init__(self, ni, nf, stride=2, kernel_size=3):
        super().__init__()
        self.conv = nn.Conv2d(ni, nf, kernel_size=kernel_size, stride=stride, bias=False, padding=1)
        self.a = nn.Parameter(torch.zeros(nf, 1, 1))
        self.m = nn.Parameter(torch.ones(nf, 1, 1))

    def forward(self, x):
        x = F.relu(self.conv(x))
        x_chan = x.transpose(0, 1).contiguous().view(x.size(1), -1)
        if self.training:
            self.means = x_chan.mean(1)[:, None, None]
            self.stds = x_chan.std(1)[:, None, None]
        return (x - self.means) / self.stds * self.m + self.a


class ResnetLayer(BnLayer):
    def forward(self, x):
        return x + super().forward(x)


class ConvBnNet(nn.Module):
    def __init__(self, layers, c):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 10, kernel_size=5, stride=1, padding=2)
        self.layers = nn.ModuleList([BnLayer(layers[i], layers[i + 1]) for i in range(len(layers) - 1)])
        self.out = nn.Linear(layers[-1], c)

    def forward(self, x):
        x = self.conv1(x)
        for l in self.layers:
            x = l(x)
        x = F.adaptive_max_pool2d(x, 1)
        x = x.view(x.size(0), -1)
        return F.log_softmax(self.out(x), dim=-1)


class ConvBnNet2(nn.Module):
    def __init__(self, layers, c):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 10, kernel_size=5, stride=1, padding=2)
        self.layers = nn.ModuleList([BnLayer(layers[i], layers[i + 1]) for i in range(len(layers) - 1)])
        self.layers2 = nn.ModuleList([BnLayer(layers[i + 1], layers[i + 1], 1) for i in range(len(layers) - 1)])
        self.out = nn.Linear(layers[-1], c)

    def forward(self, x):
        x = self.conv1(x)
        for l, l2 in zip(self.layers, self.layers2):
            x = l(x)
            x = l2(x)
        x = F.adaptive_max_pool2d(x, 1)
        x = x.view(x.size(0), -1)
        return F.log_softmax(self.out(x), dim=-1)


class Resnet(nn.Module):
    def __init__(self, layers, c):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 10, kernel_size=5, stride=1, padding=2)
        self.layers = nn.ModuleList([BnLayer(layers[i], layers[i + 1]) for i in range(len(layers) - 1)])
        self.layers2 = nn.ModuleList([ResnetLayer(layers[i + 1], layers[i + 1], 1) for i in range(len(layers) - 1)])
        self.layers3 = nn.ModuleList([ResnetLayer(layers[i + 1], layers[i + 1], 1) for i in range(len(layers) - 1)])
        self.out = nn.Linear(layers[-1], c)

    def forward(self, x):
        x = self.conv1(x)
        for l, l2, l3 in zip(self.layers, self.layers2, self.layers3):
            x = l3(l2(l(x)))
        x = F.adaptive_max_pool2d(x, 1)
        x = x.view(x.size(0), -1)
        return F.log_softmax(self.out(x), dim=-1)


class Resnet2(nn.Module):
    def __init__(self, layers, c, p=0.5):
        super().__init__()
        self.conv1 = BnLayer(3, 16, stride=1, kernel_size=7)
        self.layers = nn.ModuleList([BnLayer(layers[i], layers[i + 1]) for i in range(len(layers) - 1)])
        self.layers2 = nn.ModuleList([ResnetLayer(layers[i + 1], layers[i + 1], 1) for i in range(len(layers) - 1)])
        self.layers3 = nn.ModuleList([ResnetLayer(layers[i + 1], layers[i + 1], 1) for i in range(len(layers) - 1)])
        self.out = nn.Linear(layers[-1], c)
        self.drop = nn.Dropout(p)

    def forward(self, x):
        x = self.conv1(x)
        for l, l2, l3 in zip(self.layers, self.layers2, self.layers3):
            x = l3(l2(l(x)))
        x = F.adaptive_max_pool2d(x, 1)
        x = x.view(x.size(0), -1)
        x = self.drop(x)
        return F.log_softmax(self.out(x), dim=-1)


# name -> (constructor, weight decay of its params file)
MODELS = {
    "simplenet": (lambda: SimpleNet([32 * 32 * 3, 40, 10]), 0.0),
    "convnet": (lambda: ConvNet([3, 20, 40, 80], 10), 0.0),
    "convnet2": (lambda: ConvNet2([3, 20, 40, 80], 10), 0.0),
    "convbnnet": (lambda: ConvBnNet([10, 20, 40, 80, 160], 10), 0.0),
    "convbnnet2": (lambda: ConvBnNet2([10, 20, 40, 80, 160], 10), 0.0),
    "resnet": (lambda: Resnet([10, 20, 40, 80, 160], 10), 1e-5),
    "resnet2": (lambda: Resnet2([16, 32, 128, 256], 10, p=0.2), 1e-6),
}


# ---- augmentation on the GPU ----

def reflect_index(n, pad, device):
    """padded position -> source index for cv2.BORDER_REFLECT (fedcba|abcdefgh|hgfedcb)."""
    i = torch.arange(-pad, n + pad, device=device)
    i = torch.where(i < 0, -i - 1, i)
    return torch.where(i >= n, 2 * n - 1 - i, i)


class Augmenter:
    def __init__(self, h, w, pad, mean, std, device):
        self.h, self.w, self.pad = h, w, pad
        self.ry, self.rx = reflect_index(h, pad, device), reflect_index(w, pad, device)
        self.ar_h, self.ar_w = torch.arange(h, device=device), torch.arange(w, device=device)
        self.mean = torch.tensor(mean, device=device).view(1, 3, 1, 1)
        self.std = torch.tensor(std, device=device).view(1, 3, 1, 1)

    def normalise(self, img):  # [B,H,W,3] uint8 -> [B,3,H,W] float
        x = img.permute(0, 3, 1, 2).float().div_(255.0)
        return ((x - self.mean) / self.std).contiguous()

    def train(self, data, idx):
        """pad, flip (p = 0.5), crop at offsets 0..2*pad-1, one gather from the uint8 dataset."""
        b, dev, span = idx.numel(), idx.device, 2 * self.pad
        flip = torch.rand(b, device=dev) < 0.5
        row = torch.randint(0, span, (b,), device=dev)
        col = torch.randint(0, span, (b,), device=dev)
        ys = row[:, None] + self.ar_h                              # padded rows   [B,H]
        xs = col[:, None] + self.ar_w                              # padded cols   [B,W]
        xs = torch.where(flip[:, None], self.w + span - 1 - xs, xs)  # flip of the padded image
        sy, sx = self.ry[ys], self.rx[xs]
        img = data[idx[:, None, None], sy[:, :, None], sx[:, None, :]]  # [B,H,W,3]
        return self.normalise(img)


def train_flops_per_image(model, device):
    """3 x 2 x multiply-adds of Conv2d and Linear for one image (forward + two backward GEMMs)."""
    macs = []

    def conv_hook(m, inp, out):
        macs.append(out.numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1])

    def lin_hook(m, inp, out):
        macs.append(out.numel() * m.in_features)

    hooks = [m.register_forward_hook(conv_hook) for m in model.modules() if isinstance(m, nn.Conv2d)]
    hooks += [m.register_forward_hook(lin_hook) for m in model.modules() if isinstance(m, nn.Linear)]
    model.train()
    with torch.no_grad():
        model(torch.randn(2, 3, 32, 32, device=device))  # 2: BnLayer's std needs more than one value
    for h in hooks:
        h.remove()
    return 6.0 * sum(macs) / 2


def run(arch, mode, args, data, labels, test, device):
    make, wd = MODELS[arch]
    torch.manual_seed(0)
    model = make().to(device)
    flops = train_flops_per_image(model, device)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=wd)
    fwd = torch.compile(model) if mode == "compile" else model
    aug = Augmenter(32, 32, 4, (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616), device)
    n, bs = data.shape[0], args.batch_size

    def epoch():
        model.train()
        perm = torch.randperm(n, device=device)
        for i in range(0, n, bs):
            idx = perm[i:i + bs]
            x, y = aug.train(data, idx), labels[idx]
            loss = F.nll_loss(fwd(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            for i in range(0, test.shape[0], bs):
                fwd(aug.normalise(test[i:i + bs]))
        torch.cuda.synchronize()

    t0 = time.perf_counter()
    epoch()  # warm-up: cudnn.benchmark autotuning, compilation
    warm = time.perf_counter() - t0
    times = []
    for _ in range(args.epochs):
        t0 = time.perf_counter()
        epoch()
        times.append(time.perf_counter() - t0)
    ep = min(times)
    ips = n / ep
    print(f"  {arch:<11} {mode:<8} {ips:10.0f} images/s  epoch {ep:7.3f} s  (warm-up epoch {warm:.1f} s, "
          f"{flops / 1e9:.3f} GFLOP/image, {ips * flops / 1e12:.1f} TFLOP/s)", flush=True)
    print(f"RESULT {arch} {mode} {ips:.1f} {ep:.4f} {flops / 1e9:.6f}", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--archs", default=",".join(MODELS))
    ap.add_argument("--modes", default="eager,compile")
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--train-n", type=int, default=50000)
    ap.add_argument("--test-n", type=int, default=10000)
    ap.add_argument("--epochs", type=int, default=2, help="timed epochs after the warm-up epoch (the best counts)")
    args = ap.parse_args()
    if not torch.cuda.is_available():
        print("torch_bench: no CUDA device visible to PyTorch", file=sys.stderr)
        return 2
    device = torch.device("cuda")
    torch.backends.cudnn.benchmark = True   # PyTorch's fastest conv algorithms (TF32 convs are its default)
    print(f"PyTorch {torch.__version__} on {torch.cuda.get_device_name()}, cudnn {torch.backends.cudnn.version()}, "
          f"allow_tf32 conv={torch.backends.cudnn.allow_tf32} matmul={torch.backends.cuda.matmul.allow_tf32}", flush=True)
    g = torch.Generator(device="cpu").manual_seed(0)
    data = torch.randint(0, 256, (args.train_n, 32, 32, 3), dtype=torch.uint8, generator=g).to(device)
    labels = torch.randint(0, 10, (args.train_n,), generator=g).to(device)
    test = torch.randint(0, 256, (args.test_n, 32, 32, 3), dtype=torch.uint8, generator=g).to(device)
    for arch in args.archs.split(","):
        for mode in args.modes.split(","):
            try:
                run(arch, mode, args, data, labels, test, device)
            except Exception as e:  # torch.compile may not handle a model; report, go on
                msg = str(e).strip().splitlines()[0][:160] if str(e).strip() else type(e).__name__
                print(f"  {arch:<11} {mode:<8} failed: {msg}", flush=True)
                print(f"RESULT {arch} {mode} nan nan nan", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
