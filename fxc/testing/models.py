"""Small torchvision-style CNN blocks (written with ``torch.nn`` only, as
torchvision defines them) that the tests and benchmarks share."""

from __future__ import annotations

import torch


def randomize_batch_norms(model: torch.nn.Module, spread: float = 0.5) -> torch.nn.Module:
    """Non-trivial eval statistics and affine parameters for every BatchNorm
    of ``model`` (fresh ones are the identity map); returns it in eval mode."""
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.running_mean.uniform_(-spread, spread)
            m.running_var.uniform_(1 - spread, 1 + spread)
            m.weight.data.uniform_(1 - spread, 1 + spread)
            m.bias.data.uniform_(-spread, spread)
    return model.eval()


class BasicBlock(torch.nn.Module):
    """``torchvision.models.resnet.BasicBlock`` (stride 1, no downsample):
    conv-BN-ReLU-conv-BN, the residual, ReLU."""

    def __init__(self, c: int = 8):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn1 = torch.nn.BatchNorm2d(c)
        self.conv2 = torch.nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn2 = torch.nn.BatchNorm2d(c)

    def forward(self, x):
        out = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(out)) + x)


class InvertedResidual(torch.nn.Module):
    """``torchvision.models.mobilenetv2.InvertedResidual`` (stride 1, with
    the residual): 1x1 expand, 3x3 depthwise, 1x1 project, each with
    BatchNorm, ReLU6 after the first two; then a pooled linear head."""

    def __init__(self, c: int = 8, expand: int = 4, classes: int = 10):
        super().__init__()
        h = c * expand

        def conv_bn(cin, cout, k, groups=1, act=True):
            layers = [torch.nn.Conv2d(cin, cout, k, padding=k // 2, groups=groups, bias=False),
                      torch.nn.BatchNorm2d(cout)]
            return layers + [torch.nn.ReLU6()] if act else layers

        self.body = torch.nn.Sequential(*conv_bn(c, h, 1), *conv_bn(h, h, 3, groups=h), *conv_bn(h, c, 1, act=False))
        self.head = torch.nn.Linear(c, classes)

    def forward(self, x):
        y = self.body(x) + x
        return self.head(torch.nn.functional.adaptive_avg_pool2d(y, 1).flatten(1))
