#!/usr/bin/env python3
"""airbench_match.py: is the C airbench94 the same recipe as airbench94 in PyTorch? Cross-checking
only (it needs the bench venv: torch, numpy, safetensors); never run by the tests or CI.

1. Training, step by step. train_trace (tests/tools) runs the train stage's loop on the first
   --batches * 1024 training images in file order, unaugmented, and writes the net before
   (whitening included) and after. PyTorch (airbench_torch.fit, the same loop as airbench94.py)
   starts from that initial net, sees the same batches in the same order, and the two are compared:
   the loss of every step, then every tensor of the state dict after the last step (lookahead,
   freezing of the whitening bias and the BatchNorm running statistics included). The whitening
   filters are also recomputed in PyTorch from the same images and compared up to each filter's sign.
2. Evaluation (--ckpt C.ckpt --eval-json C.eval.json): a checkpoint of the train stage, loaded
   into airbench's PyTorch net, evaluated on the test set with airbench's TTA level 2, against
   what the evaluate stage wrote for it.

  python tests/bench/airbench_match.py --bin build --data artifacts/data --stats artifacts/stats.json \
      [--batches 2] [--epochs 9.9] [--threads 2] [--ckpt artifacts/airbench94.ckpt --eval-json ...]
Each comparison runs at two lrs: airbench's 11.5, where training is chaotic (a PyTorch control run
from the same weights perturbed by 1e-7 ends 10-30% away in some tensors after 20 steps), and a
gentle 0.5, where rounding stays small and every rule (lookahead, freezing, running statistics)
is compared tightly. Prints the comparison and ends with one line of JSON; exit status 1 when a
step's loss or a final tensor is further from PyTorch's than both --tolerance (relative) and
--control-factor times the control's distance, so a wrong rule shows as a failure.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
from safetensors.numpy import load_file, save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import airbench_torch as ab  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def subset(src_dir, dst_dir, n_train, n_test):
    """The first n images of each split, with the sort stage's metadata."""
    for name, n in (("train", n_train), ("test", n_test)):
        path = f"{src_dir}/{name}.safetensors"
        with open(path, "rb") as f:
            header = json.loads(f.read(int.from_bytes(f.read(8), "little")))
        t = load_file(path)
        save_file({"images": t["images"][:n].copy(), "labels": t["labels"][:n].copy()},
                  f"{dst_dir}/{name}.safetensors", metadata=header.get("__metadata__", {}))


def load_into(model, ckpt):
    sd = {k: torch.from_numpy(v.copy()) for k, v in load_file(ckpt).items()}
    missing, unexpected = model.load_state_dict(sd, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        sys.exit(f"airbench_match: {ckpt}: missing {missing}, unexpected {unexpected}")


def rel(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-30))


def check_training(args, work, lr):
    """One comparison at airbench's lr (per 1024 examples) = lr; returns the numbers."""
    data = f"{work}/data"
    os.makedirs(data, exist_ok=True)
    n_train = args.batches * ab.HYP["opt"]["batch_size"]
    subset(args.data, data, n_train, args.test_images)
    params = json.load(open(f"{ROOT}/params/airbench94.json"))
    params["phases"][0]["epochs"] = args.epochs
    params["phases"][0]["lr"] = lr
    ab.HYP["opt"]["lr"] = lr
    print(f"-- lr {lr} (per 1024 examples), {args.batches} batches of 1024 per epoch, {args.epochs} epochs")
    with open(f"{work}/params.json", "w") as f:
        json.dump(params, f)
    init, final, metrics = f"{work}/init.ckpt", f"{work}/final.ckpt", f"{work}/metrics.json"
    subprocess.run([f"{args.bin}/tests/tools/train_trace", "--model", f"{ROOT}/models/airbench94.json",
                    "--params", f"{work}/params.json", "--data", data, "--stats", args.stats,
                    "--init", init, "--final", final, "--metrics", metrics, "--threads", str(args.threads)],
                   check=True, stdout=subprocess.DEVNULL)
    ours_losses = json.load(open(metrics))["iterations"]["loss"]

    stats = json.load(open(args.stats))
    mean, std = torch.tensor(stats["mean"]), torch.tensor(stats["std"])
    images, labels = ab.load_split(data, "train")
    norm = ((images - mean.view(1, 3, 1, 1)) / std.view(1, 3, 1, 1)).contiguous(memory_format=torch.channels_last)
    bs = ab.HYP["opt"]["batch_size"]
    batches = [(norm[i:i + bs], labels[i:i + bs]) for i in range(0, n_train, bs)]

    class FixedBatches:
        def __len__(self):
            return len(batches)

        def __iter__(self):
            return iter(batches)

    model = ab.make_net()
    # the whitening filters from the same images, PyTorch's way, against ours (each pair of filters
    # is +v and -v, and an eigenvector's sign is arbitrary)
    ab.init_whitening_conv(model[0], norm[:ab.WHITEN_IMAGES])
    theirs_w = model[0].weight.detach().numpy().reshape(24, -1)
    load_into(model, init)
    ours_w = model[0].weight.detach().numpy().reshape(24, -1)
    signs = np.where(np.sum(theirs_w * ours_w, axis=1, keepdims=True) < 0, -1.0, 1.0)
    whiten_rel = rel(ours_w * signs, theirs_w)

    theirs_losses, steps, _ = ab.fit(model, FixedBatches(), args.epochs)
    ours_final = load_file(final)
    theirs_final = {k: v.detach().numpy() for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}

    # The control: PyTorch against itself from the same weights, each multiplied by (1 + e) with
    # e uniform in +-1e-7 (float32 rounding): how far rounding alone carries two runs apart.
    control = ab.make_net()
    load_into(control, init)
    with torch.no_grad():
        for k, v in control.state_dict().items():
            if v.dtype == torch.float32:
                v.mul_(1 + (torch.rand_like(v) * 2 - 1) * 1e-7)
    control_losses, _, _ = ab.fit(control, FixedBatches(), args.epochs)
    control_final = {k: v.detach().numpy() for k, v in control.state_dict().items()}
    print(f"whitening filters: max relative difference {whiten_rel:.2e} (up to sign)")
    print(f"{'step':>4} {'ours loss':>14} {'PyTorch loss':>14} {'relative':>9} {'control':>9}")
    step_rel, control_rel = [], []
    for i, (a, b, c) in enumerate(zip(ours_losses, theirs_losses, control_losses)):
        step_rel.append(abs(a - b) / abs(b))
        control_rel.append(abs(c - b) / abs(b))
        print(f"{i + 1:4d} {a:14.6f} {b:14.6f} {step_rel[-1]:9.2e} {control_rel[-1]:9.2e}")
    tensor_rel = {k: rel(ours_final[k], v) for k, v in theirs_final.items()}
    tensor_control = {k: rel(control_final[k], v) for k, v in theirs_final.items()}
    worst = sorted(tensor_rel.items(), key=lambda kv: -kv[1])
    print("final tensors, max |x - PyTorch| / max |PyTorch| for x = ours and x = the control, worst first:")
    for k, r in worst:
        print(f"  {k:24s} {r:9.2e} {tensor_control[k]:9.2e}")
    return {"lr": lr, "steps_ours": len(ours_losses), "steps_torch": steps, "whiten_rel": whiten_rel,
            "loss_rel_max": max(step_rel) if step_rel else None, "loss_rel_first": step_rel[0] if step_rel else None,
            "tensor_rel_max": worst[0][1], "tensor_worst": worst[0][0],
            "control_loss_rel_max": max(control_rel) if control_rel else None,
            "control_tensor_rel_max": max(tensor_control.values())}


def check_eval(args):
    stats = json.load(open(args.stats))
    mean, std = torch.tensor(stats["mean"]), torch.tensor(stats["std"])
    images, labels = ab.load_split(args.data, "test")
    loader = ab.CifarLoader(images, labels, mean, std, 2000, train=False)
    model = ab.make_net()
    load_into(model, args.ckpt)
    acc, tta = ab.evaluate(model, loader, 0), ab.evaluate(model, loader, 2)
    ours = json.load(open(args.eval_json)) if args.eval_json else {}
    print(f"{args.ckpt} in PyTorch: accuracy {acc:.4f}, TTA level 2 {tta:.4f}; the evaluate stage: "
          f"accuracy {ours.get('accuracy')}, TTA {ours.get('tta_accuracy')}")
    return {"torch_accuracy": acc, "torch_tta_accuracy": tta, "ours_accuracy": ours.get("accuracy"),
            "ours_tta_accuracy": ours.get("tta_accuracy")}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=f"{ROOT}/build", help="the build folder (train_trace is in tests/tools)")
    ap.add_argument("--data", required=True)
    ap.add_argument("--stats", required=True)
    ap.add_argument("--batches", type=int, default=2, help="batches of 1024 per epoch")
    ap.add_argument("--epochs", type=float, default=ab.HYP["opt"]["train_epochs"])
    ap.add_argument("--test-images", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--lrs", type=lambda v: [float(x) for x in v.split(",")], default=[11.5, 0.5],
                    help="airbench lrs to compare at (its own 11.5, and a gentle one where rounding stays small)")
    ap.add_argument("--tolerance", type=float, default=1e-3)
    ap.add_argument("--control-factor", type=float, default=4.0)
    ap.add_argument("--whiten-tolerance", type=float, default=1e-2,
                    help="whitening filters against PyTorch's (its covariance is summed in float32, ours in double)")
    ap.add_argument("--ckpt", help="also evaluate this checkpoint in PyTorch")
    ap.add_argument("--eval-json", help="the evaluate stage's eval.json for --ckpt")
    ap.add_argument("--skip-training", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    result = {"script": "airbench_match", "torch": torch.__version__}
    ok = True
    if not args.skip_training:
        runs = []
        with tempfile.TemporaryDirectory(prefix="airbench_match.") as work:
            for lr in args.lrs:
                r = check_training(args, work, lr)
                # rounding alone (the control) carries PyTorch runs this far apart; a wrong rule
                # shows as a difference well beyond it, or beyond the tolerance where both are small
                r["match"] = r["steps_ours"] == r["steps_torch"] and r["whiten_rel"] <= args.whiten_tolerance and \
                    r["loss_rel_max"] <= max(args.tolerance, args.control_factor * r["control_loss_rel_max"]) and \
                    r["tensor_rel_max"] <= max(args.tolerance, args.control_factor * r["control_tensor_rel_max"])
                print(f"lr {lr}: {'match' if r['match'] else 'DIFFERENT'}")
                ok &= r["match"]
                runs.append(r)
        result["training"] = runs
    if args.ckpt:
        result.update(check_eval(args))
    result["match"] = ok
    print(json.dumps(result))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
