"""Eval BatchNorm (a frozen per-channel affine chain) folded into the
convolution before it (fxc.frontend.fold_conv_affine): compiled frozen
programs match eager, folded or not, and the fold happens where it should."""

import pytest
import torch

import fxc
from fxc.frontend.capture import _frozen_values
from fxc.frontend.decompose import TABLE
from fxc.frontend.fold_conv_affine import fold_conv_affine
from fxc.testing import assert_same
from fxc.testing.models import BasicBlock, randomize_batch_norms


class SharedWeight(torch.nn.Module):
    """One conv module applied twice, each followed by its own BN: the
    weight has two readers, so neither folds (scaling it would change both)."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(8, 8, 3, padding=1)
        self.bn1, self.bn2 = torch.nn.BatchNorm2d(8), torch.nn.BatchNorm2d(8)

    def forward(self, x):
        return self.bn1(self.conv(x)) + self.bn2(self.conv(x))


class NotPerChannel(torch.nn.Module):
    """A shift per column (the last dim), not per channel: no fold."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(8, 8, 1)
        self.shift = torch.nn.Buffer(torch.randn(1, 1, 1, 12))

    def forward(self, x):
        return self.conv(x) + self.shift


def _depthwise():
    return torch.nn.Sequential(torch.nn.Conv2d(8, 8, 3, groups=8), torch.nn.BatchNorm2d(8), torch.nn.ReLU6())


def _conv1d():
    return torch.nn.Sequential(torch.nn.Conv1d(8, 16, 5, padding=2), torch.nn.BatchNorm1d(16))


def _dilated_strided():
    return torch.nn.Sequential(torch.nn.Conv2d(8, 4, 3, stride=2, dilation=2, bias=True), torch.nn.BatchNorm2d(4))


#: (name, model factory, input shape, convolutions expected to fold)
CASES = [
    ("basic_block", BasicBlock, (2, 8, 12, 12), 2),
    ("depthwise", _depthwise, (1, 8, 12, 12), 1),
    ("conv1d", _conv1d, (2, 8, 20), 1),
    ("dilated_strided_bias", _dilated_strided, (1, 8, 12, 12), 1),
    ("shared_weight", SharedWeight, (1, 8, 12, 12), 0),
    ("not_per_channel", NotPerChannel, (1, 8, 12, 12), 0),
]


@pytest.mark.parametrize("name,factory,shape,folds", CASES, ids=[c[0] for c in CASES])
def test_frozen_matches_eager(name, factory, shape, folds):
    model = randomize_batch_norms(factory())
    x = torch.randn(shape)
    compiled = fxc.compile(model, (x,), freeze=True)
    with torch.no_grad():
        for _ in range(2):
            x = torch.randn(shape)
            assert_same(compiled(x), model(x))


@pytest.mark.parametrize("name,factory,shape,folds", CASES, ids=[c[0] for c in CASES])
def test_fold_count(name, factory, shape, folds):
    model = randomize_batch_norms(factory())
    ep = torch.export.export(model, (torch.randn(shape),), strict=False).run_decompositions(TABLE)
    assert fold_conv_affine(ep, _frozen_values(ep)) == folds


def test_user_program_untouched():
    """Compiling a user's ExportedProgram frozen folds fxc's copy only."""
    model = randomize_batch_norms(BasicBlock())
    x = torch.randn(1, 8, 12, 12)
    ep = torch.export.export(model, (x,), strict=False)
    before = str(ep.graph)
    constants = dict(ep.constants)
    compiled = fxc.compile(ep, (x,), freeze=True)
    assert str(ep.graph) == before and dict(ep.constants).keys() == constants.keys()
    with torch.no_grad():
        assert_same(compiled(x), model(x))
        assert_same(ep.module()(x), model(x))


def test_not_frozen_reads_live_weights():
    """Without freeze nothing folds: later changes to the BN's statistics are seen."""
    model = randomize_batch_norms(torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4)))
    x = torch.randn(1, 3, 8, 8)
    compiled = fxc.compile(model, (x,))
    model[1].running_mean.add_(1.0)
    with torch.no_grad():
        assert_same(compiled(x), model(x))
