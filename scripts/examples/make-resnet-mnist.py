#!/usr/bin/python3
"""Builds examples/resnet-mnist.onnx: a small ResNet for 1x28x28 inputs exported by PyTorch.

It is the model the README's quick start inspects, and a realistic PyTorch export (BatchNorm
folded by the exporter, residual Adds, a dynamic batch axis). Weights are random with a fixed
seed: inspection does not need trained weights. Needs Debian's python3-torch (/usr/bin/python3).
"""
import os
import torch
from torch import nn

torch.manual_seed(0)


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.short = None
        if stride != 1 or cin != cout:
            self.short = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return torch.relu(y + (x if self.short is None else self.short(x)))


class ResNetMnist(nn.Module):
    def __init__(self, width=16, classes=10):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU())
        self.layers = nn.Sequential(
            Block(width, width, 1), Block(width, width, 1),
            Block(width, 2 * width, 2), Block(2 * width, 2 * width, 1),
            Block(2 * width, 4 * width, 2), Block(4 * width, 4 * width, 1),
        )
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4 * width, classes))

    def forward(self, x):
        return self.head(self.layers(self.stem(x)))


model = ResNetMnist().eval()
out = os.path.join(os.path.dirname(__file__), '..', '..', 'examples', 'resnet-mnist.onnx')
torch.onnx.export(
    model, torch.zeros(1, 1, 28, 28), out, opset_version=13,
    input_names=['image'], output_names=['logits'],
    dynamic_axes={'image': {0: 'batch'}, 'logits': {0: 'batch'}},
)
print('wrote', os.path.normpath(out), sum(p.numel() for p in model.parameters()), 'parameters')
