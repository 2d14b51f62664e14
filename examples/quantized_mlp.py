"""The bundled example: a two-layer int8 MLP with logged progress.

Each layer multiplies int8 activations by int8 weights into int32 with
``out_dtype`` (the int8 x int8 -> int32 GEMM of quantized inference),
dequantizes with a per-tensor scale, applies ReLU and requantizes to int8.
``aten._print`` marks progress: an ordered side effect that fxc must run
where eager runs it, in the same order.

    fxc run examples/quantized_mlp.py          # compile, run, compare with eager
    fxc compile examples/quantized_mlp.py --emit torch

Conventions (see ``fxc.tools.model_file``): ``Model`` is the module,
``example_inputs()`` returns its positional arguments.
"""

import torch
from torch._higher_order_ops.out_dtype import out_dtype


def _quantize(x: torch.Tensor, scale: float) -> torch.Tensor:
    return torch.clamp(torch.round(x / scale), -128, 127).to(torch.int8)


class Model(torch.nn.Module):
    def __init__(self, sizes=(64, 128, 32)):
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.w1 = torch.nn.Buffer(torch.randint(-128, 128, (sizes[0], sizes[1]), dtype=torch.int8, generator=g))
        self.w2 = torch.nn.Buffer(torch.randint(-128, 128, (sizes[1], sizes[2]), dtype=torch.int8, generator=g))
        self.s1, self.s2, self.s_act = 0.02, 0.01, 0.5

    def forward(self, x: torch.Tensor):
        torch.ops.aten._print("fxc example: layer 1")
        acc1 = out_dtype(torch.ops.aten.mm.default, torch.int32, x, self.w1)
        h = torch.relu(acc1.to(torch.float32) * (self.s1 * self.s_act))
        hq = _quantize(h, self.s_act)
        torch.ops.aten._print("fxc example: layer 2")
        acc2 = out_dtype(torch.ops.aten.mm.default, torch.int32, hq, self.w2)
        y = acc2.to(torch.float32) * (self.s2 * self.s_act)
        return {"logits": y, "acc1": acc1}


def example_inputs():
    g = torch.Generator().manual_seed(1)
    return (torch.randint(-128, 128, (8, 64), dtype=torch.int8, generator=g),)
