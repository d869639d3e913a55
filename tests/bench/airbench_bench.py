#!/usr/bin/env python3
"""airbench_bench.py: airbench94's training speed here against the same recipe in PyTorch (`make bench`).

For each thread count, R interleaved rounds of:
  ours   the train stage on models/airbench94.json with params/airbench94.json cut to --steps
         training steps of batch 1024 (one epoch of that many batches): its images_per_second
         (the whole loop: loader, augmentation, the airbench rules);
  torch  tests/bench/airbench_torch.py --limit-steps --steps: its images_per_second (whitening and
         training steps, as airbench times a run), only with --torch-python.
Medians, their ratio, and the seconds of one whole training run (the recipe's steps x 1024 images
at that rate; an ESTIMATE from the timed steps, labelled so), beside the issue's goals: ahead of
PyTorch on the same cores; on 2 cores a whole run under 45 minutes. Reports, asserts nothing.
"""
import argparse
import json
import math
import os
import statistics
import subprocess
import sys


def recipe_steps(params):
    """ceil(batches per epoch x epochs) with drop_last on the 50,000 training images."""
    per_epoch = 50000 // params["batch_size"]
    return math.ceil(per_epoch * params["phases"][0]["epochs"])


def ours(args, threads, params):
    p = dict(params, limit_batches=args.steps, lr_find=params["lr_find"])
    p["phases"] = [dict(params["phases"][0], epochs=1)]
    path = os.path.join(args.out, "airbench94.steps.json")
    with open(path, "w") as f:
        json.dump(p, f)
    m = os.path.join(args.out, "airbench94.metrics.json")
    cmd = [args.train, "--model", "models/airbench94.json", "--params", path, "--data", args.data, "--stats", args.stats,
           "--threads", str(threads), "--ckpt", os.path.join(args.out, "airbench94.ckpt"), "--metrics", m,
           "--summary", os.path.join(args.out, "airbench94.summary.json")]
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        sys.exit(f"airbench_bench: train failed: {r.stderr.strip().splitlines()[-1:] or ''}")
    with open(m) as f:
        return json.load(f)["images_per_second"]


def torch(args, threads):
    cmd = [args.torch_python, "tests/bench/airbench_torch.py", "--data", args.data, "--stats", args.stats, "--seed", "0",
           "--threads", str(threads), "--limit-steps", str(args.steps)]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        sys.exit(f"airbench_bench: airbench_torch.py failed: {r.stderr.strip().splitlines()[-1:] or ''}")
    return json.loads(r.stdout.strip().splitlines()[-1])["images_per_second"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    for k in ("train", "data", "stats", "out"):
        ap.add_argument(f"--{k}", required=True)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--steps", type=int, default=4, help="timed training steps of batch 1024 per measurement")
    ap.add_argument("--torch-python", default="")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    with open("params/airbench94.json") as f:
        params = json.load(f)
    total = recipe_steps(params)
    print(f"\nairbench94 on the CPU: {args.steps} timed steps of batch {params['batch_size']} per measurement, median of "
          f"{args.rounds} interleaved rounds; a whole run is {total} steps ({params['phases'][0]['epochs']} epochs)")
    print(f"{'threads':>7} | {'ours img/s':>10} {'run s (est.)':>12} | {'torch img/s':>11} {'run s (est.)':>12} | "
          f"{'ours/torch':>10}")
    for t in [int(x) for x in args.threads.split(",")]:
        o, p = [], []
        for _ in range(args.rounds):
            o.append(ours(args, t, params))
            if args.torch_python:
                p.append(torch(args, t))
        mo = statistics.median(o)
        mp = statistics.median(p) if p else None
        run = total * params["batch_size"] / mo
        trun = total * params["batch_size"] / mp if mp else None
        print(f"{t:>7} | {mo:10.1f} {run:12.0f} | " + (f"{mp:11.1f} {trun:12.0f} | {mo / mp:9.2f}x" if mp else
                                                           f"{'-':>11} {'-':>12} | {'-':>10}"))
        if t == 2:
            print(f"goal on 2 cores, a whole run under 45 min: ESTIMATE {run / 60:.1f} min, "
                  + ("met" if run < 45 * 60 else "missed"))
    if not args.torch_python:
        print("airbench_bench: no PyTorch columns: `make bench-deps` creates the venv")
    return 0


if __name__ == "__main__":
    sys.exit(main())
