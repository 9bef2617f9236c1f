"""PyTorch twins of exitwise's backbones (src/nn/): the same layers, the same state_dict keys.

Run with Debian's /usr/bin/python3 (python3-torch 1.13, python3-onnx 1.12). Used by the fixture
script scripts/fixtures/make-backbone-twin.py and by benchmarks that compare training with PyTorch.

    from torch_models import build, load_onnx_weights
    model = build({'kind': 'resnet', 'blocksPerStage': [2, 2, 2], 'width': 16,
                   'classes': 10, 'inputShape': [1, 28, 28], 'seed': 0})
    load_onnx_weights(model, 'resnet.onnx')   # optional: start from exitwise's weights

`build` takes a *resolved* spec (every field present: `buildBackbone(spec).spec`, or the ONNX
model's metadata entry 'exitwise.backbone'); the defaults live only in src/nn/. The torch models
initialise themselves as exitwise does (src/nn/init.ts), with torch's own generator.
"""
import json
import math

import torch
from torch import nn
import torch.nn.functional as F


class ConvBN(nn.Module):
    """Conv (no bias, padding k//2) -> BatchNorm2d: the stem and projection shortcuts."""

    def __init__(self, cin, cout, kernel, stride=1):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride, kernel // 2, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        return self.bn(self.conv(x))


class BasicBlock(nn.Module):
    """relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)); 1x1 conv+BN shortcut when the shape changes."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = ConvBN(cin, cout, 1, stride) if stride != 1 or cin != cout else None

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(h)) + (x if self.shortcut is None else self.shortcut(x)))


class ResNet(nn.Module):
    """exitwise's 'resnet': stem conv+BN+ReLU, stages of basic blocks (widths w·2^s, stride 2 from stage 2 on), GAP, linear."""

    def __init__(self, blocks_per_stage, width, classes, in_channels):
        super().__init__()
        self.stem = ConvBN(in_channels, width, 3)
        stages, cin = [], width
        for s, count in enumerate(blocks_per_stage):
            cout = width * 2 ** s
            stages.append(nn.Sequential(*[BasicBlock(cin if k == 0 else cout, cout, 2 if s > 0 and k == 0 else 1) for k in range(count)]))
            cin = cout
        self.stages = nn.ModuleList(stages)
        self.fc = nn.Linear(cin, classes)
        # torchvision's ResNet initialisation, as src/nn/init.ts 'kaiming-normal-fan-out' (fc keeps torch's default).
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')

    def blocks(self):
        """The block modules, in order: their outputs are exitwise's `blocks` (tensors named 'stages.s.k')."""
        return [block for stage in self.stages for block in stage]

    def forward(self, x):
        h = F.relu(self.stem(x))
        for stage in self.stages:
            h = stage(h)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(h, 1), 1))


class CnnStage(nn.Module):
    """3x3 conv (bias, padding 1) -> ReLU -> 2x2 max-pool."""

    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, 1, 1)

    def forward(self, x):
        return F.max_pool2d(F.relu(self.conv(x)), 2, 2)


class PlainCNN(nn.Module):
    """exitwise's 'cnn': conv-ReLU-maxpool stages, flatten, linear (torch's default initialisation)."""

    def __init__(self, channels, classes, input_shape):
        super().__init__()
        c, h, w = input_shape
        stages = []
        for cout in channels:
            stages.append(CnnStage(c, cout))
            c, h, w = cout, h // 2, w // 2
        self.stages = nn.ModuleList(stages)
        self.fc = nn.Linear(c * h * w, classes)

    def blocks(self):
        return list(self.stages)

    def forward(self, x):
        for stage in self.stages:
            x = stage(x)
        return self.fc(torch.flatten(x, 1))


def build(spec):
    """The twin of `buildBackbone(spec)` for a resolved spec (dict or JSON string); seeded with spec['seed']."""
    spec = json.loads(spec) if isinstance(spec, str) else spec
    torch.manual_seed(spec['seed'])
    if spec['kind'] == 'resnet':
        return ResNet(spec['blocksPerStage'], spec['width'], spec['classes'], spec['inputShape'][0])
    if spec['kind'] == 'cnn':
        return PlainCNN(spec['channels'], spec['classes'], spec['inputShape'])
    raise ValueError(f"unknown backbone kind {spec['kind']!r}; known: 'resnet', 'cnn'")


def onnx_spec(path):
    """The resolved spec that exitwise stored in an ONNX model's metadata."""
    import onnx
    model = onnx.load(path)
    entry = next((p.value for p in model.metadata_props if p.key == 'exitwise.backbone'), None)
    if entry is None:
        raise ValueError(f'{path} has no exitwise.backbone metadata: not built by buildBackbone')
    return json.loads(entry)


def load_onnx_weights(model, path):
    """Copies every initializer of exitwise's ONNX model into the twin (names = state_dict keys)."""
    import onnx
    from onnx import numpy_helper
    weights = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in onnx.load(path).graph.initializer}
    state = model.state_dict()
    expected = {k for k in state if not k.endswith('num_batches_tracked')}
    if set(weights) != expected:
        raise ValueError(f'weights differ: only in ONNX {sorted(set(weights) - expected)}, only in torch {sorted(expected - set(weights))}')
    for name, value in weights.items():
        if tuple(value.shape) != tuple(state[name].shape):
            raise ValueError(f'{name}: ONNX {tuple(value.shape)} vs torch {tuple(state[name].shape)}')
        state[name] = value
    model.load_state_dict(state)
    return model


def conv_linear_macs(model, x):
    """Multiply-accumulates of the Conv2d and Linear layers for one forward pass of x, per sample."""
    total = 0

    def hook(module, _inputs, output):
        nonlocal total
        if isinstance(module, nn.Conv2d):
            total += output.numel() * module.in_channels // module.groups * math.prod(module.kernel_size)
        else:
            total += output.numel() * module.in_features

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        model(x)
    for h in handles:
        h.remove()
    return total // x.shape[0]
