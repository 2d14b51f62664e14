# RUN: %PYTHON %s | FileCheck %s
# Symbolic sizes: imported as torch.symbolic_int / torch.bind_symbolic_shape,
# recorded on the entry's arguments, and dynamic `?` dims in linalg.

import torch
from torch.export import Dim

import fxc
from fxc.testing import run


class Pair(torch.nn.Module):
    def forward(self, x, y):
        return (x * 2).sum(1) + y[: x.shape[0]]


ARGS = (torch.randn(4, 16), torch.randn(8))
BATCH = Dim("batch", min=1, max=64)
SHAPES = {"x": {0: BATCH}, "y": {0: 2 * BATCH}}


@run
def test_torch_stage():
    print(fxc.export(Pair(), ARGS, dynamic_shapes=SHAPES).mlir)


# CHECK-LABEL: TEST: test_torch_stage
# CHECK: func.func @main(%[[X:[^:]+]]: !torch.vtensor<[?,16],f32> {{.*}}, %[[Y:[^:]+]]: !torch.vtensor<[?],f32> {{.*}}) -> !torch.vtensor<[?],f32>
# CHECK: %[[S:.*]] = torch.symbolic_int "[[SYM:s[0-9]+]]" {min_val = 1, max_val = 64} : !torch.int
# CHECK: torch.bind_symbolic_shape %[[X]], [%[[S]]], affine_map<()[s0] -> (s0, 16)>
# CHECK: torch.bind_symbolic_shape %[[Y]], [%[[S]]], affine_map<()[s0] -> (s0 * 2)>


@run
def test_linalg_stage():
    compiled = fxc.compile(Pair(), ARGS, dynamic_shapes=SHAPES, stop_after="linalg")
    print(compiled.ir("linalg"))


# CHECK-LABEL: TEST: test_linalg_stage
# CHECK: func.func @main(%{{.*}}: tensor<?x16xf32> {fxc.shape = ["[[SYM2:s[0-9]+]]", 16]}, %{{.*}}: tensor<?xf32> {fxc.shape = ["[[SYM2]] * 2"]}) -> tensor<?xf32>
# CHECK-SAME: fxc.symbols = {[[SYM2]] = [1, 64]}
# CHECK-NOT: torch.symbolic_int
# CHECK: tensor.empty(%{{.*}}) : tensor<?xf32>
