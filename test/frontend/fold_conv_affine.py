# RUN: %PYTHON %s | FileCheck %s
#
# With freeze=True, an eval BatchNorm (and any per-channel affine chain of
# frozen constants) after a convolution folds into the convolution's weight
# and bias (fxc.frontend.fold_conv_affine): the torch stage has the
# convolution alone.  Without freeze, or when the chain does not qualify, it
# stays.

import torch

import fxc
from fxc.testing import run

torch.manual_seed(0)
X = (torch.randn(1, 3, 8, 8),)


def conv_bn(bias=False, groups=1):
    m = torch.nn.Sequential(torch.nn.Conv2d(4 if groups > 1 else 3, 4, 3, bias=bias, groups=groups),
                            torch.nn.BatchNorm2d(4), torch.nn.ReLU()).eval()
    m[1].running_mean.uniform_(-1, 1)
    m[1].running_var.uniform_(0.5, 2)
    return m


class ScaleShift(torch.nn.Module):
    """A hand-written per-channel affine map on a conv's output: ``(y * s - t) / 2``."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 1)
        self.s = torch.nn.Buffer(torch.rand(4, 1, 1))
        self.t = torch.nn.Buffer(torch.rand(4, 1, 1))

    def forward(self, x):
        return (self.conv(x) * self.s - self.t) / 2


class Reused(torch.nn.Module):
    """The conv's output has a second user: nothing folds."""

    def __init__(self):
        super().__init__()
        self.conv, self.bn = torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4)

    def forward(self, x):
        y = self.conv(x)
        return self.bn(y), y


def ops(module):
    print("\n".join(line.split("=", 1)[1].split(" : ")[0] for line in fxc.export(module, X, freeze=True).mlir.splitlines()
                    if " = torch.aten." in line))


@run
def test_conv_bn_relu():
    ops(conv_bn())


# CHECK-LABEL: TEST: test_conv_bn_relu
# CHECK-NEXT: torch.aten.convolution
# CHECK-NEXT: torch.aten.relu
# CHECK-NOT: torch.aten


@run
def test_hand_written_affine():
    ops(ScaleShift().eval())


# CHECK-LABEL: TEST: test_hand_written_affine
# CHECK-NEXT: torch.aten.convolution
# CHECK-NOT: torch.aten


@run
def test_conv_output_reused():
    ops(Reused().eval())


# CHECK-LABEL: TEST: test_conv_output_reused
# CHECK: torch.aten.convolution
# CHECK: torch.aten.sub.Tensor
# CHECK: torch.aten.mul.Tensor


@run
def test_not_frozen():
    print("\n".join(line.split("=", 1)[1].split(" : ")[0] for line in fxc.export(conv_bn(), X).mlir.splitlines()
                    if " = torch.aten." in line))


# CHECK-LABEL: TEST: test_not_frozen
# CHECK: torch.aten.convolution
# CHECK: torch.aten.sub.Tensor
# CHECK: torch.aten.mul.Tensor
