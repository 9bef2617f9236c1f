#!/usr/bin/python3
"""PyTorch CPU side of bench/train.bench.ts: training-step throughput of an exitwise backbone's
PyTorch twin (bench/torch_models.py), with the step exitwise's trainer takes: forward, mean
cross-entropy, backward, SGD with momentum. Data is random and already in memory.

  /usr/bin/python3 bench/torch_train_bench.py --threads T --batch 128 --steps M [--warmup W] [--spec JSON]

Prints one JSON line: {"threads": T, "batch": B, "steps": M, "samplesPerSecond": median, "stepMs": [...]}.
--spec is a resolved backbone spec (default: exitwise's default ResNet). Needs Debian's
python3-torch (apt-get install python3-torch), importable from /usr/bin/python3.
"""
import argparse
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from torch_models import build  # noqa: E402

DEFAULT_SPEC = {'kind': 'resnet', 'blocksPerStage': [2, 2, 2], 'width': 16, 'classes': 10, 'inputShape': [1, 28, 28], 'seed': 0}
LR, MOMENTUM = 0.01, 0.9


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--threads', type=int, required=True)
    p.add_argument('--batch', type=int, default=128)
    p.add_argument('--steps', type=int, default=10)
    p.add_argument('--warmup', type=int, default=3)
    p.add_argument('--spec', default=json.dumps(DEFAULT_SPEC))
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    spec = json.loads(args.spec)
    model = build(spec).train()
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    g = torch.Generator().manual_seed(0)
    x = torch.rand(args.batch, *spec['inputShape'], generator=g)
    y = torch.randint(0, spec['classes'], (args.batch,), generator=g)
    times = []
    for i in range(args.warmup + args.steps):
        t0 = time.perf_counter()
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
        if i >= args.warmup:
            times.append((time.perf_counter() - t0) * 1000)
    median = sorted(times)[len(times) // 2]
    print(json.dumps({'threads': args.threads, 'batch': args.batch, 'steps': args.steps,
                      'samplesPerSecond': args.batch / median * 1000, 'stepMs': times}), flush=True)


if __name__ == '__main__':
    main()
