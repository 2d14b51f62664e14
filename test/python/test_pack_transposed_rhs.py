"""fxc-pack-transposed-rhs on whole programs: Linear layers whose weights
are read at each call (not frozen) transpose them a panel at a time, and
agree with eager for widths that make 4, 8 or 1 panels, a K in one or
several steps, a K no panel depth divides (left as it was), a batch of
rows, and with and without OpenMP threads.  The IR is checked by
test/backends/cpu/pack-transposed-rhs.mlir."""

import pytest
import torch

import fxc
from fxc.backends.cpu.backend import CpuBackend

SHAPES = {
    # name: (input shape, in features, out features)
    "panels_of_256": ((64, 512), 512, 1024),
    "panels_of_192": ((3, 11, 200), 200, 768),
    "one_panel": ((16, 48), 48, 64),
    "k_not_divisible": ((8, 100), 100, 256),  # no multiple of 8 divides 100
}


@pytest.mark.parametrize("openmp", [True, False], ids=["openmp", "serial"])
@pytest.mark.parametrize("shape", SHAPES)
def test_linear_matches_eager(shape, openmp):
    x_shape, k, n = SHAPES[shape]
    torch.manual_seed(0)
    layer = torch.nn.Linear(k, n).eval()
    x = torch.randn(*x_shape)
    with torch.no_grad():
        compiled = fxc.compile(layer, (x,), options=CpuBackend.Options(openmp=openmp))
        torch.testing.assert_close(compiled(x), layer(x), atol=1e-4, rtol=1e-4)
        # The weight is read at each call: a new one gives new results.
        layer.weight.mul_(-0.5)
        torch.testing.assert_close(compiled(x), layer(x), atol=1e-4, rtol=1e-4)

