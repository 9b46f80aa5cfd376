#!/usr/bin/env python3
"""PyTorch twin of `npm run bench`'s SAT step, for a side-by-side column (bench/pytorch.ts).

The same nets and shapes as bench/bench.ts (reference, mnist-cnn, preact-resnet18), the same
SAT step as lib/train/step.ts: PGD-1 L-inf (eps 8/255, random start, step 2.5*eps) with the model
in eval mode (batch norm frozen), then one SGD step (momentum 0.9, weight decay 5e-4 on conv and
dense kernels only, lr 0.01) on the perturbed batch in train mode. ReLU, batch 64 by default.

A comparison tool only, never a dependency of the project. Run with an interpreter that has
torch (Debian's python3-torch: /usr/bin/python3). Protocol, one JSON object per line:
  stdin  {"net": "mnist-cnn", "batch": 64, "threads": 1, "clock": "wall"|"cpu", "runs": 1}
  stdout {"ms": [..one per run..]}  or  {"error": "..."}
The first line out is {"ready": true, "torch": "<version>"}. `--check` prints the version and exits.
"""
import json
import sys
import time

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except Exception as e:  # no torch here: say so in one line, the caller skips the column
    print(json.dumps({"ready": False, "error": f"torch does not import: {e}"}), flush=True)
    sys.exit(0)

EPS = 8 / 255


class Reference(nn.Module):
    """bench/reference-net.ts: six 3x3 convs without bias (32,32,64,64,128,128; strides 1,1,2,1,2,1), mean pool, dense."""

    def __init__(self):
        super().__init__()
        convs, c = [], 3
        for out, stride in [(32, 1), (32, 1), (64, 2), (64, 1), (128, 2), (128, 1)]:
            convs.append(nn.Conv2d(c, out, 3, stride, 1, bias=False))
            c = out
        self.convs = nn.ModuleList(convs)
        self.fc = nn.Linear(c, 10)

    def forward(self, x):
        for conv in self.convs:
            x = F.relu(conv(x))
        return self.fc(x.mean((2, 3)))


class MnistCnn(nn.Module):
    """lib/models/mnist-cnn.ts, width 16: conv-BN-activation x3 (strides 1,2,2), dense."""

    def __init__(self, width=16, act=F.relu):
        super().__init__()
        self.act = act
        widths, c = [width, 2 * width, 4 * width], 1
        self.convs, self.bns = nn.ModuleList(), nn.ModuleList()
        for out, stride in zip(widths, [1, 2, 2]):
            self.convs.append(nn.Conv2d(c, out, 3, stride, 1, bias=False))
            self.bns.append(nn.BatchNorm2d(out, eps=1e-5, momentum=0.1))
            c = out
        self.fc = nn.Linear(7 * 7 * c, 10)

    def forward(self, x):
        for conv, bn in zip(self.convs, self.bns):
            x = self.act(bn(conv(x)))
        return self.fc(x.flatten(1))


class PreActBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.bn1, self.conv1 = nn.BatchNorm2d(cin), nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn2, self.conv2 = nn.BatchNorm2d(cout), nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.shortcut = nn.Conv2d(cin, cout, 1, stride, bias=False) if stride != 1 or cin != cout else None

    def forward(self, x):
        a = F.relu(self.bn1(x))
        skip = self.shortcut(a) if self.shortcut is not None else x
        return self.conv2(F.relu(self.bn2(self.conv1(a)))) + skip


class PreActResNet18(nn.Module):
    """lib/models/preact-resnet.ts, width 64."""

    def __init__(self, width=64):
        super().__init__()
        self.stem = nn.Conv2d(3, width, 3, 1, 1, bias=False)
        blocks, c = [], width
        for s in range(4):
            out = width * 2**s
            for b in range(2):
                blocks.append(PreActBlock(c, out, 2 if b == 0 and s > 0 else 1))
                c = out
        self.blocks = nn.Sequential(*blocks)
        self.bn = nn.BatchNorm2d(c)
        self.fc = nn.Linear(c, 10)

    def forward(self, x):
        return self.fc(F.relu(self.bn(self.blocks(self.stem(x)))).mean((2, 3)))


NETS = {"reference": (Reference, (3, 32, 32)), "mnist-cnn": (MnistCnn, (1, 28, 28)), "preact-resnet18": (PreActResNet18, (3, 32, 32))}


class Twin:
    def __init__(self, net, batch):
        make, shape = NETS[net]
        torch.manual_seed(0)
        self.model = make()
        kernels = [p for n, p in self.model.named_parameters() if p.dim() > 1]
        others = [p for n, p in self.model.named_parameters() if p.dim() <= 1]
        self.opt = torch.optim.SGD([{"params": kernels, "weight_decay": 5e-4}, {"params": others, "weight_decay": 0}], lr=0.01, momentum=0.9)
        self.x = torch.rand(batch, *shape)
        self.y = torch.randint(0, 10, (batch,))

    def step(self):
        # PGD-1 with batch norm frozen.
        self.model.eval()
        adv = (self.x + torch.empty_like(self.x).uniform_(-EPS, EPS)).clamp(0, 1).requires_grad_(True)
        loss = F.cross_entropy(self.model(adv), self.y)
        (g,) = torch.autograd.grad(loss, adv)
        with torch.no_grad():
            adv = torch.min(torch.max(adv + 2.5 * EPS * g.sign(), self.x - EPS), self.x + EPS).clamp(0, 1)
        # One SGD step on the perturbed batch, batch norm in training mode.
        self.model.train()
        self.opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(self.model(adv), self.y)
        loss.backward()
        self.opt.step()
        return loss.item()


def main():
    if "--check" in sys.argv:
        print(json.dumps({"ready": True, "torch": torch.__version__}))
        return
    twins = {}
    print(json.dumps({"ready": True, "torch": torch.__version__}), flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            req = json.loads(line)
            net, batch = req["net"], int(req.get("batch", 64))
            if net not in NETS:
                raise ValueError(f"unknown net '{net}' (the twin has {', '.join(NETS)})")
            torch.set_num_threads(int(req.get("threads", 1)))
            key = (net, batch)
            if key not in twins:
                twins[key] = Twin(net, batch)
                twins[key].step()  # warm-up
            clock = time.process_time if req.get("clock") == "cpu" else time.perf_counter
            ms = []
            for _ in range(int(req.get("runs", 1))):
                t0 = clock()
                twins[key].step()
                ms.append((clock() - t0) * 1000)
            print(json.dumps({"ms": ms}), flush=True)
        except Exception as e:
            print(json.dumps({"error": f"{type(e).__name__}: {e}"}), flush=True)


if __name__ == "__main__":
    main()
