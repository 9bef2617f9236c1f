#!/usr/bin/python3
"""Accuracy reference: trains a backbone's PyTorch twin on Fashion-MNIST with the recipe exitwise
aims to match, and prints test accuracy after every epoch. Not a test: run by hand (the default
ResNet: ≈ 30 min on one core, 93.6% after 15 epochs).

  /usr/bin/python3 bench/torch_accuracy.py [--spec JSON] [--epochs 15] [--threads 1]

--spec is a *resolved* spec (all fields), e.g. printed by
  node --import tsx -e "import('./src/nn/index.ts').then(m => console.log(JSON.stringify(m.buildBackbone({kind: 'resnet'}).spec)))"

Recipe: SGD (momentum 0.9, Nesterov), lr 0.1 with per-step cosine decay to 0, weight decay 5e-4,
batch 128, inputs (x/255 − 0.2860)/0.3530, augmentation random crop (pad 2) + horizontal flip.
"""
import argparse
import gzip
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from torch_models import build  # noqa: E402

DATA = '/usr/share/datasets/fashion-mnist'
DEFAULT_SPEC = {'kind': 'resnet', 'blocksPerStage': [2, 2, 2], 'width': 16, 'classes': 10, 'inputShape': [1, 28, 28], 'seed': 0}
MEAN, STD, PAD, BATCH = 0.2860, 0.3530, 2, 128


def read_idx(name, offset):
    with gzip.open(os.path.join(DATA, name)) as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)


def load(split):
    images = torch.from_numpy(read_idx(f'{split}-images-idx3-ubyte.gz', 16).reshape(-1, 1, 28, 28).astype(np.float32))
    labels = torch.from_numpy(read_idx(f'{split}-labels-idx1-ubyte.gz', 8).astype(np.int64))
    return (images / 255 - MEAN) / STD, labels


def augment(x, g):
    """Random crop with zero padding (in normalised units: the value of a black pixel) + flip."""
    n = x.shape[0]
    padded = F.pad(x, (PAD, PAD, PAD, PAD), value=-MEAN / STD)
    dy, dx = torch.randint(0, 2 * PAD + 1, (2, n), generator=g)
    out = torch.stack([padded[i, :, dy[i]:dy[i] + 28, dx[i]:dx[i] + 28] for i in range(n)])
    flip = torch.rand(n, generator=g) < 0.5
    out[flip] = out[flip].flip(3)
    return out


def evaluate(model, x, y):
    model.eval()
    with torch.no_grad():
        correct = sum((model(x[i:i + 1000]).argmax(1) == y[i:i + 1000]).sum().item() for i in range(0, len(x), 1000))
    return correct / len(x)


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--spec', default=json.dumps(DEFAULT_SPEC))
    p.add_argument('--epochs', type=int, default=15)
    p.add_argument('--threads', type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    model = build(args.spec)
    train_x, train_y = load('train')
    test_x, test_y = load('t10k')
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)
    steps = args.epochs * math.ceil(len(train_x) / BATCH)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * s / steps)))
    g = torch.Generator().manual_seed(0)
    print(f'{json.loads(args.spec)} params {sum(p.numel() for p in model.parameters())}, {args.threads} thread(s)', flush=True)
    for epoch in range(args.epochs):
        model.train()
        t0 = time.perf_counter()
        order = torch.randperm(len(train_x), generator=g)
        total = 0.0
        for i in range(0, len(order), BATCH):
            idx = order[i:i + BATCH]
            loss = F.cross_entropy(model(augment(train_x[idx], g)), train_y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
        seconds = time.perf_counter() - t0
        print(f'epoch {epoch + 1}: train loss {total / len(order):.4f}, test accuracy {evaluate(model, test_x, test_y):.4f}, '
              f'{seconds:.0f} s ({len(order) / seconds:.0f} samples/s)', flush=True)


if __name__ == '__main__':
    main()
