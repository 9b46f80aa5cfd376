#!/usr/bin/env python3
"""PyTorch side of `npm run bench -- --train` (bench/train.ts): one epoch of SAT on real Fashion-MNIST,
or (--task pgd20) PGD-20 evaluation of the test images.

The design of lib/train for notebook 01's study: the MNIST CNN of bench/pytorch_twin.py (width 16,
conv-BN-activation x3, dense), batch 128, SAT with PGD-1 L-inf (random start, step = eps = 0.1,
batch norm frozen for the attack), then one SGD step (lr 0.05, momentum 0.9, weight decay 5e-4 on
conv and dense kernels) in train mode; the first `--images` training images, shuffled by a fixed
seed. Loads the IDX files itself, takes one untimed step (warm-up), times the epoch with the wall
clock and the process's CPU time and prints one JSON line:
{"images_per_s": ..., "images_per_cpu_s": ..., "seconds": ..., "torch": "<version>"}.
PGD-20 evaluation as lib/eval's accuracy() runs it: batches of 100 of the first `--images` test
images, model in eval mode, random start, 20 signed steps of 2.5 * eps / 20 on the summed
cross-entropy, projection, then one forward pass counting the right answers (timed the same way).
A comparison tool only, never a dependency of the project. Run with an interpreter that has
torch (Debian's python3-torch: /usr/bin/python3).
"""
import argparse
import gzip
import json
import os
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pytorch_twin import MnistCnn, torch, F  # noqa: E402  (prints why and exits when torch is missing)

ACTIVATIONS = {"relu": F.relu, "silu": F.silu}


def idx(path):
    with gzip.open(path) if path.endswith(".gz") else open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = struct.unpack(">" + "I" * dims, data[4 : 4 + 4 * dims])
    return torch.frombuffer(bytearray(data[4 + 4 * dims :]), dtype=torch.uint8).reshape(shape)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dir", required=True)
    p.add_argument("--images", type=int, default=16384)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--activation", choices=sorted(ACTIVATIONS), default="relu")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--eps", type=float, default=0.1)
    p.add_argument("--task", choices=["train", "pgd20"], default="train")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    find = lambda stem: next(os.path.join(a.dir, f) for f in (stem, stem + ".gz") if os.path.exists(os.path.join(a.dir, f)))
    split = "train" if a.task == "train" else "t10k"
    x = idx(find(f"{split}-images-idx3-ubyte"))[: a.images].float().div_(255).unsqueeze(1).contiguous()
    y = idx(find(f"{split}-labels-idx1-ubyte"))[: a.images].long()
    model = MnistCnn(act=ACTIVATIONS[a.activation])
    if a.task == "pgd20":
        return pgd20(model, x, y, a.eps)
    kernels = [q for q in model.parameters() if q.dim() > 1]
    others = [q for q in model.parameters() if q.dim() <= 1]
    opt = torch.optim.SGD([{"params": kernels, "weight_decay": 5e-4}, {"params": others, "weight_decay": 0}], lr=0.05, momentum=0.9)
    eps = a.eps

    def step(xb, yb):
        model.eval()  # PGD-1 with batch norm frozen: random start, one signed step of eps, projection
        adv = (xb + torch.empty_like(xb).uniform_(-eps, eps)).clamp(0, 1).requires_grad_(True)
        (g,) = torch.autograd.grad(F.cross_entropy(model(adv), yb), adv)
        with torch.no_grad():
            adv = (xb + (adv + eps * g.sign() - xb).clamp(-eps, eps)).clamp(0, 1)
        model.train()
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(adv), yb)
        loss.backward()
        opt.step()
        return loss.item()

    order = torch.randperm(a.images, generator=torch.Generator().manual_seed(0))
    step(x[order[: a.batch]], y[order[: a.batch]])  # warm-up
    t0, c0 = time.perf_counter(), time.process_time()
    for b in range(0, a.images, a.batch):
        i = order[b : b + a.batch]
        step(x[i], y[i])
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(json.dumps({"images_per_s": a.images / seconds, "images_per_cpu_s": a.images / cpu, "seconds": seconds, "torch": torch.__version__}), flush=True)


def pgd20(model, x, y, eps, batch=100, steps=20):
    """PGD-20 accuracy over (x, y), timed after one untimed batch; prints the JSON line."""
    model.eval()
    step = 2.5 * eps / steps

    def correct(xb, yb):
        adv = (xb + torch.empty_like(xb).uniform_(-eps, eps)).clamp(0, 1)
        for _ in range(steps):
            adv.requires_grad_(True)
            (g,) = torch.autograd.grad(F.cross_entropy(model(adv), yb, reduction="sum"), adv)
            with torch.no_grad():
                adv = (xb + (adv + step * g.sign() - xb).clamp(-eps, eps)).clamp(0, 1)
        with torch.no_grad():
            return (model(adv).argmax(1) == yb).sum().item()

    correct(x[:batch], y[:batch])  # warm-up
    t0, c0 = time.perf_counter(), time.process_time()
    right = sum(correct(x[b : b + batch], y[b : b + batch]) for b in range(0, len(x), batch))
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(json.dumps({"images_per_s": len(x) / seconds, "images_per_cpu_s": len(x) / cpu, "seconds": seconds, "accuracy": right / len(x), "torch": torch.__version__}), flush=True)


if __name__ == "__main__":
    main()
