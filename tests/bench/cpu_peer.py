#!/usr/bin/env python3
"""cpu_peer.py: this project's CPU training and evaluation beside PyTorch on the same cores (`make bench`).

For each thread count, R rounds; in every round, one after the other (interleaved, so a change of
machine load hits both sides alike):
  ours   engine_bench --peer: the whole training step (net_train_step: forward, loss, backward,
         SGD), the evaluation forward of a net built for inference, the ceiling (the model's
         convolutions alone straight on oneDNN in the layouts it prefers, no reorder) and beside it
         wino (the same convolutions through our plans with the CPU's own Winograd forced where it
         applies, the rest on oneDNN);
  loop   the train stage itself on the real training set: the whole training loop, data loader,
         augmentation and schedule included, its steady rate from a run of 2B batches minus a run
         of B (the first steps' one-time costs cancel, as the step's warm-up does);
  torch  torch_cpu_bench.py: the notebook's classes, eager and channels_last, a training step with
         torch.optim.SGD and a torch.no_grad() evaluation forward (only with --torch-python).
Each figure is the median over the rounds, in images/s; then the ratios and the issue's goals
(resnet2's step >= 90% of its ceiling, >= 1.2x PyTorch's better format on every model, the loop
within 5% of the step). Standard library only; reports, asserts nothing.
"""
import argparse
import json
import math
import os
import platform
import statistics
import struct
import subprocess
import sys


def run_lines(cmd, env=None):
    """RESULT lines of a command as lists of words (without RESULT); exits on failure."""
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    if p.returncode != 0:
        sys.exit(f"cpu_peer: {cmd[0]} failed (exit {p.returncode}): {p.stderr.strip().splitlines()[-1:] or ''}")
    return [ln.split()[1:] for ln in p.stdout.splitlines() if ln.startswith("RESULT ")]


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            info = f.read()
    except OSError:
        return platform.processor() or "unknown CPU"
    name = next((ln.split(":", 1)[1].strip() for ln in info.splitlines() if ln.startswith("model name")), "unknown CPU")
    flags = next((ln.split(":", 1)[1].split() for ln in info.splitlines() if ln.startswith("flags")), [])
    isa = "AVX-512" if "avx512f" in flags else "AVX2+FMA" if "avx2" in flags and "fma" in flags else "no AVX2"
    return f"{name}, {os.cpu_count()} logical CPUs, CPU ISA {isa}"


def loop_params(arch, batches, out):
    """A params file: the arch's augmentation and weight decay, one epoch of `batches` batches."""
    with open(f"params/{arch}.json") as f:
        p = json.load(f)
    wd = p["phases"][0].get("wd", 0)
    q = {"seed": 0, "batch_size": 256, "momentum": 0.9, "augment": p.get("augment", {"pad": 4, "flip": True}),
         "lr_find": {"start_lr": 1e-5, "end_lr": 10}, "limit_batches": batches,
         "phases": [{"lr": 0.01, "n_cycle": 1, "cycle_len": 1, "wd": wd}]}
    path = os.path.join(out, f"{arch}.loop.json")
    with open(path, "w") as f:
        json.dump(q, f)
    return path


def small_test_set(args):
    """args.out/data: the real training set (a link) beside the first 512 test images, so each
    loop run's validation pass (not part of the loop's time) stays short."""
    d = os.path.join(args.out, "data")
    os.makedirs(d, exist_ok=True)
    train = os.path.join(d, "train.safetensors")
    if not os.path.exists(train):
        os.symlink(os.path.abspath(os.path.join(args.data, "train.safetensors")), train)
    with open(os.path.join(args.data, "test.safetensors"), "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        body = f.read()
    keep, parts, off = 512, [], 0
    for name, t in header.items():
        if name == "__metadata__":
            continue
        row = (t["data_offsets"][1] - t["data_offsets"][0]) // t["shape"][0]
        k = min(keep, t["shape"][0])
        parts.append(body[t["data_offsets"][0]:t["data_offsets"][0] + k * row])
        t["shape"][0], t["data_offsets"] = k, [off, off + k * row]
        off += k * row
    h = json.dumps(header).encode()
    with open(os.path.join(d, "test.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(parts))
    return d


def train_run(args, arch, threads, batches, data):
    """(training images, loop seconds) of one train stage run on `batches` batches."""
    out = args.out
    params = loop_params(arch, batches, out)
    metrics = os.path.join(out, f"{arch}.metrics.json")
    cmd = [args.train, "--model", f"models/{arch}.json", "--params", params, "--data", data, "--stats",
           args.stats, "--threads", str(threads), "--ckpt", os.path.join(out, f"{arch}.ckpt"),
           "--metrics", metrics, "--summary", os.path.join(out, f"{arch}.summary.json")]
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        sys.exit(f"cpu_peer: train {arch} failed: {p.stderr.strip().splitlines()[-1:] or ''}")
    with open(metrics) as f:
        m = json.load(f)
    return m["train_images"], m["loop_seconds"]


def loop_rate(args, arch, threads, data, step_rate):
    """The loop's steady rate: the images and seconds a run of 2B batches has beyond a run of B, so
    the first steps' one-time costs (plans, first touch of the buffers) cancel out as in the step's
    warm-up. B: at least --batches, and enough for --seconds at the step's rate (a fast model's
    16 batches last milliseconds), at most half an epoch of 50,000 images."""
    b = args.batches
    if step_rate:
        b = min(98, max(b, math.ceil(step_rate * args.seconds / 256)))
    i1, s1 = train_run(args, arch, threads, b, data)
    i2, s2 = train_run(args, arch, threads, 2 * b, data)
    return (i2 - i1) / (s2 - s1) if s2 > s1 else None


def one_round(args, threads, archs, res, info, data):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    for w in run_lines([args.engine, "--peer", "--threads", str(threads), "--seconds", str(args.seconds)] + archs, env):
        if w[0] == "isa":
            info["isa"], info["block"] = w[1], w[2]
        elif w[0] == "threads":
            info["our_threads"] = max(info.get("our_threads", 0), int(w[1]))
        else:
            res.setdefault((w[0], w[1]), []).append(float(w[2]))
    for a in archs:
        r = loop_rate(args, a, threads, data, res.get((a, "step"), [None])[-1])
        if r:
            res.setdefault((a, "loop"), []).append(r)
    if args.torch_python:
        cmd = [args.torch_python, "tests/bench/torch_cpu_bench.py", "--threads", str(threads), "--archs", ",".join(archs),
               "--seconds", str(args.seconds)]
        for w in run_lines(cmd):
            if w[0] == "torch_threads":
                info["torch_threads"] = f"{w[1]} intra-op, {w[2]} in the process"
            else:
                res.setdefault((w[0], f"{w[1]}_{w[2]}"), []).append(float(w[3]))


def fmt(v, width=8):
    return f"{v:{width}.0f}" if v is not None else f"{'-':>{width}}"


def ratio(a, b, width=6):
    return f"{a / b:{width - 1}.2f}x" if a and b else f"{'-':>{width}}"


def pct(a, b):
    return f"{100 * a / b:5.0f}%" if a and b else f"{'-':>6}"


def table(args, threads, archs, res, info):
    med = {k: statistics.median(v) for k, v in res.items()}
    g = lambda a, k: med.get((a, k))  # noqa: E731
    print(f"\nTHREADS={threads}: ours {info.get('our_threads', '?')} threads in the process"
          + (f"; PyTorch {info['torch_threads']}" if "torch_threads" in info else ""))
    print(f"{'arch':<11} | {'step':>8} {'loop':>8} {'loop/st':>7} | {'pt eager':>8} {'pt cl':>8} {'vs best':>7} |"
          f" {'ceiling':>8} {'st/ceil':>7} {'wino':>8} | {'eval':>8} {'pt eval':>8} {'vs best':>7}")
    goals = {"ceiling": [], "peer": [], "loop": []}
    for a in archs:
        step, loop, ceil = g(a, "step"), g(a, "loop"), g(a, "ceiling")
        te, tc = g(a, "torch_eager_train"), g(a, "torch_channels_last_train")
        best = max([v for v in (te, tc) if v] or [0]) or None
        ev = g(a, "eval")
        pev = max([v for v in (g(a, "torch_eager_eval"), g(a, "torch_channels_last_eval")) if v] or [0]) or None
        print(f"{a:<11} | {fmt(step)} {fmt(loop)} {pct(loop, step):>7} | {fmt(te)} {fmt(tc)} {ratio(step, best, 7)} |"
              f" {fmt(ceil)} {pct(step, ceil):>7} {fmt(g(a, 'winograd'))} | {fmt(ev)} {fmt(pev)} {ratio(ev, pev, 7)}")
        if a == "resnet2" and ceil:
            goals["ceiling"].append((a, step / ceil >= 0.90, f"{100 * step / ceil:.0f}%"))
        if best:
            goals["peer"].append((a, step / best >= 1.2, f"{step / best:.2f}x"))
        if loop:
            goals["loop"].append((a, loop >= 0.95 * step, f"{100 * loop / step:.0f}%"))
    names = {"ceiling": "resnet2 step >= 90% of its ceiling", "peer": "step >= 1.2x PyTorch's better format",
             "loop": "loop >= 95% of the step"}
    for k, rows in goals.items():
        if not rows:
            print(f"goal {names[k]}: not measured" + ("" if args.torch_python or k != "peer" else
                                                       " (no PyTorch: `make bench-deps` creates its venv)"))
            continue
        missed = [f"{a} {v}" for a, ok, v in rows if not ok]
        print(f"goal {names[k]}: " + ("met on all " + str(len(rows)) if not missed else
                                      f"missed on {len(missed)} of {len(rows)}: " + ", ".join(missed)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--engine", required=True)
    ap.add_argument("--train", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--stats", required=True)
    ap.add_argument("--archs", required=True)
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=2.0, help="per measurement")
    ap.add_argument("--batches", type=int, default=16, help="the loop is timed as runs of 2B minus runs of B batches")
    ap.add_argument("--torch-python", default="", help="python with torch; empty: no peer columns")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    archs = [a for a in args.archs.split(",") if a]
    data = small_test_set(args)
    caps = " ".join(f"{v}={os.environ.get(v, '(unset)')}" for v in
                    ("CPU_MAX_ISA", "ONEDNN_MAX_CPU_ISA", "ATEN_CPU_CAPABILITY", "MKL_ENABLE_INSTRUCTIONS"))
    print(f"cpu_peer: {cpu_name()}; {caps}; batch 256, images/s, "
          f"median of {args.rounds} interleaved rounds of {args.seconds:g} s per measurement")
    if not args.torch_python:
        print("cpu_peer: PyTorch columns empty: no torch venv (`make bench-deps` creates it, several GB)")
    for t in [int(x) for x in args.threads.split(",")]:
        res, info = {}, {}
        for r in range(args.rounds):
            print(f"  THREADS={t} round {r + 1}/{args.rounds} ...", file=sys.stderr, flush=True)
            one_round(args, t, archs, res, info, data)
        if "isa" in info:
            print(f"\nour kernels: {info['isa']}, activations nChw{info['block']}c (the block oneDNN prefers here)")
        table(args, t, archs, res, info)
    print("\nstep: net_train_step (forward, loss, backward, SGD); loop: the train stage on real batches (loader, "
          f"augmentation, schedule), a run of 2B batches minus one of B (B >= {args.batches}, >= --seconds of steps); ceiling: the convolutions alone in oneDNN's "
          "preferred layouts; wino: the same convolutions through our plans, our Winograd F(4x4,3x3) forced where it applies; pt: PyTorch (eager = NCHW, cl = channels_last), training step with optim.SGD; "
          "eval: forward only, ours on an inference net, PyTorch under torch.no_grad()")
    return 0


if __name__ == "__main__":
    sys.exit(main())
