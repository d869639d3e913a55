#!/usr/bin/env python3
"""torch_cpu_bench.py: the PyTorch peer on the CPU for tests/bench/cpu_peer.py (benchmarking only).

The notebook's classes (torch_bench.py's MODELS: the same BnLayer, weight decay of each params
file) timed on the CPU with the threads given, in two memory formats: eager (contiguous NCHW) and
channels_last (NHWC, the layout oneDNN prefers inside PyTorch; not for simplenet, which has no
convolution and flattens its input). Per model and format:
  train: one optimiser step as the trainer does it: forward, NLL loss, zero_grad, backward and
         torch.optim.SGD(lr 0.01, momentum 0.9, the params' weight decay) on one batch;
  eval:  model.eval() forward under torch.no_grad().
Inputs are random normalised images and labels (throughput does not depend on the values), the
same batch size as this project's. Two warm-up steps, then steps until --seconds have passed.

Output, one line per measurement:  RESULT <arch> torch_<format> <train|eval> <images_per_s>
and once: RESULT torch_threads <intra-op threads> <process threads>.
"""
import argparse
import os
import sys


def parse():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--archs", required=True, help="comma-separated")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--eval-batch", type=int, default=256)
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--formats", default="eager,channels_last")
    return ap.parse_args()


ARGS = parse()
# Before torch loads: one pool of ARGS.threads for OpenMP, MKL and OpenBLAS, no oversubscription.
for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)

import time  # noqa: E402

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_bench import MODELS  # noqa: E402


def timed(step, seconds):
    """Images/s of step() (one batch each) after two warm-up calls."""
    step()
    step()
    n, t0 = 0, time.perf_counter()
    while True:
        step()
        n += 1
        el = time.perf_counter() - t0
        if el >= seconds and n >= 2:
            return n / el


def bench(arch, fmt, args):
    make, wd = MODELS[arch]
    torch.manual_seed(0)
    mf = torch.channels_last if fmt == "channels_last" else torch.contiguous_format
    model = make().to(memory_format=mf)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=wd)
    x = torch.randn(args.batch, 3, 32, 32).to(memory_format=mf)
    y = torch.randint(0, 10, (args.batch,))
    xe = torch.randn(args.eval_batch, 3, 32, 32).to(memory_format=mf)

    def train_step():
        loss = F.nll_loss(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if not torch.isfinite(loss):
            raise RuntimeError("loss is not finite")

    def eval_step():
        with torch.no_grad():
            model(xe)

    model.train()
    train = args.batch * timed(train_step, args.seconds)
    model.eval()
    ev = args.eval_batch * timed(eval_step, args.seconds)
    print(f"RESULT {arch} torch_{fmt} train {train:.1f}", flush=True)
    print(f"RESULT {arch} torch_{fmt} eval {ev:.1f}", flush=True)


def main():
    torch.set_num_threads(ARGS.threads)
    torch.set_num_interop_threads(1)
    for arch in ARGS.archs.split(","):
        if arch not in MODELS:
            print(f"torch_cpu_bench: {arch}: no PyTorch class for it; skipped", file=sys.stderr)
            continue
        for fmt in ARGS.formats.split(","):
            if fmt == "channels_last" and arch == "simplenet":
                continue   # no convolution: its input is flattened, a memory format means nothing
            try:
                bench(arch, fmt, ARGS)
            except RuntimeError as e:  # report and go on: a class may not take a format
                print(f"torch_cpu_bench: {arch} {fmt}: {str(e).splitlines()[0][:160]}", file=sys.stderr)
    tasks = len(os.listdir("/proc/self/task")) if os.path.isdir("/proc/self/task") else -1
    print(f"RESULT torch_threads {torch.get_num_threads()} {tasks}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
