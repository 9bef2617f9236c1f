#!/usr/bin/python3
"""PyTorch 1.13 CPU baseline for bench/training-step.ts: the twin of src/nn's ResNet-14 with BN
(bench/torch_models.py), batch 128, 1x28x28 inputs, one SGD step (zero_grad, forward, backward,
step), in training mode.

Usage: /usr/bin/python3 bench/torch_training_step.py [SPEC_JSON]           # 1 and 2 threads
       /usr/bin/python3 bench/torch_training_step.py --serve SPEC_JSON     # driven by bench/training-step.ts:
           reads "THREADS STEPS" lines, answers with a JSON list of step times in ms
SPEC_JSON is the resolved backbone spec (default: ResNet-14, width 16, as src/nn builds it).
"""
import json
import os
import sys
import time

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(__file__))
from torch_models import build  # noqa: E402

BATCH, WARMUP, STEPS = 128, 3, 20
DEFAULT_SPEC = {'kind': 'resnet', 'blocksPerStage': [2, 2, 2], 'width': 16, 'classes': 10, 'inputShape': [1, 28, 28], 'seed': 0}

args = [a for a in sys.argv[1:] if a != '--serve']
model = build(args[0] if args else DEFAULT_SPEC).train()
x = torch.rand(BATCH, 1, 28, 28)
y = torch.arange(BATCH) % 10
opt = torch.optim.SGD(model.parameters(), lr=0.01)


def steps(threads, count):
    torch.set_num_threads(threads)
    times = []
    for _ in range(count):
        t0 = time.perf_counter()
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
        times.append((time.perf_counter() - t0) * 1000)
    return times


if "--serve" in sys.argv:
    for line in sys.stdin:
        threads, count = map(int, line.split())
        print(json.dumps(steps(threads, count)), flush=True)
else:
    for threads in (1, 2):
        steps(threads, WARMUP)
        median = sorted(steps(threads, STEPS))[STEPS // 2]
        print(f"{threads} thread(s): median step {median:.1f} ms, {round(BATCH / median * 1000)} samples/s")
