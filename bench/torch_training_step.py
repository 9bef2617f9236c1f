#!/usr/bin/python3
"""PyTorch 1.13 CPU baseline for bench/training-step.ts: the same CNN, batch 128, SGD step."""
import time
import torch
import torch.nn as nn

BATCH, WARMUP, STEPS = 128, 3, 20
model = nn.Sequential(
    nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(),
    nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))
x = torch.rand(BATCH, 1, 28, 28)
y = torch.arange(BATCH) % 10
opt = torch.optim.SGD(model.parameters(), lr=0.01)
for threads in (1, 2):
    torch.set_num_threads(threads)
    times = []
    for i in range(WARMUP + STEPS):
        t0 = time.perf_counter()
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
        if i >= WARMUP:
            times.append(time.perf_counter() - t0)
    median = sorted(times)[STEPS // 2]
    print(f"{threads} thread(s): median step {median * 1000:.1f} ms, {round(BATCH / median)} samples/s")
