"""The GPU program suite: the programs both GPU backends (Triton, NVVM) are
checked on, as plain torch (no fxc, no torch-mlir), so that the machine that
compiles them (``test/python/test_nvvm_backend.py``, ``gpu_check.py
compile``) and the GPU machine that runs the saved artifacts
(``gpu_check.py run``) build the same programs with the same inputs.

``PROGRAMS[name]()`` returns ``(module, inputs, tolerance)``: an
``nn.Module`` in eval mode with seeded weights, CPU inputs (seeded) and the
``(rtol, atol)`` its outputs are compared with eager at.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch._higher_order_ops.out_dtype import out_dtype

#: The custom effectful op of the effects program: records its calls, in order.
LOG = []
_LIB = torch.library.Library("fxcgpusuite", "FRAGMENT")
_LIB.define("record(Tensor x, str tag) -> Tensor")
_LIB.impl("record", lambda x, tag: (LOG.append(tag), x * 2 + 1)[1], "CompositeExplicitAutograd")
torch.library.register_fake("fxcgpusuite::record", lambda x, tag: torch.empty_like(x), lib=_LIB)


def _register_effect():
    from torch._higher_order_ops.effects import _EffectType, _register_effectful_op

    _register_effectful_op(torch.ops.fxcgpusuite.record.default, _EffectType.ORDERED)


_register_effect()


class Fn(torch.nn.Module):
    """A function as a module (what fxc.compile and the artifacts' ``state`` take)."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, *args):
        return self.fn(*args)


def _effects(x):
    torch.ops.aten._print("first")
    y = torch.ops.fxcgpusuite.record(x.exp(), "a")
    torch.ops.aten._print("second")
    z = torch.ops.fxcgpusuite.record(y.sum(0), "b")
    return z * 3


def _int8_mm(a, b):
    return out_dtype(torch.ops.aten.mm.default, torch.int32, a, b)


def _seeded(build):
    def make():
        torch.manual_seed(0)
        module, inputs, tol = build()
        return module.eval(), inputs, tol

    return make


_EXACT, _F32, _F16 = (0.0, 0.0), (1e-4, 1e-5), (2e-2, 2e-2)

PROGRAMS = {name: _seeded(build) for name, build in {
    "elementwise_broadcast": lambda: (Fn(lambda x, y: torch.relu(x * y + 1).sigmoid() - torch.tanh(x) / 3),
                                      (torch.randn(37, 64), torch.randn(64)), _F32),
    "sum_mean_max_lastdim": lambda: (Fn(lambda x: (x.sum(-1), x.mean(-1), x.amax(-1))), (torch.randn(33, 300),), _F32),
    "sum_max_leading_dim": lambda: (Fn(lambda x: (x.sum(0), x.amax(0), x.sum(1))), (torch.randn(65, 7, 40),), _F32),
    "full_reduction": lambda: (Fn(lambda x: x.mean()), (torch.randn(64, 48),), _F32),
    "softmax_log_softmax": lambda: (Fn(lambda x: (torch.softmax(x, -1), F.log_softmax(x, 0))),
                                    (torch.randn(24, 1000),), _F32),
    "layer_norm": lambda: (torch.nn.LayerNorm(64), (torch.randn(3, 17, 64),), _F32),
    "matmul_f32": lambda: (Fn(lambda a, b: a @ b), (torch.randn(70, 48), torch.randn(48, 36)), _F32),
    "bmm_f16": lambda: (Fn(torch.bmm), (torch.randn(2, 40, 24, dtype=torch.half),
                                         torch.randn(2, 24, 20, dtype=torch.half)), _F16),
    "linear_f32": lambda: (torch.nn.Linear(24, 20), (torch.randn(9, 24),), _F32),
    "int8_out_dtype_mm": lambda: (Fn(_int8_mm), (torch.randint(-128, 127, (33, 40), dtype=torch.int8),
                                                  torch.randint(-128, 127, (40, 24), dtype=torch.int8)), _EXACT),
    "mlp": lambda: (torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.GELU(), torch.nn.Linear(32, 8),
                                        torch.nn.ReLU()), (torch.randn(12, 16),), _F32),
    "transformer_encoder_layer": lambda: (
        torch.nn.TransformerEncoderLayer(32, 2, dim_feedforward=64, dropout=0.0, batch_first=True),
        (torch.randn(2, 5, 32),), (1e-4, 1e-5)),
    "effects": lambda: (Fn(_effects), (torch.randn(4, 5),), _F32),
}.items()}
