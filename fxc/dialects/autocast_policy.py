"""PyTorch's CPU autocast policy, as data.

*Which* ops autocast touches is read from PyTorch: the operator overloads
with a kernel registered for the ``AutocastCPU`` dispatch key
(:func:`registered_ops`).  *How* it touches them is not exposed in Python
(the kernels are C++ templates in ``aten/src/ATen/autocast_mode.cpp``), so
the lower-precision and promote lists are written here and every other
registered overload is on the fp32 list; ``test_autocast_lists.py`` checks
the result against ``AutocastCPUTestLists`` and that every registered
overload is classified.

Keys are PyTorch overload names as the torch dialect spells ops:
``aten.conv2d`` (default overload), ``aten.conv2d.padding``.
"""

from __future__ import annotations

import enum
import functools
from typing import Dict, Optional

import torch


class Policy(enum.Enum):
    """What autocast does to an op's floating tensor inputs."""

    LOWER = "lower_precision_fp"  # cast to the region's dtype
    FP32 = "fp32"  # cast to float32
    PROMOTE = "promote"  # cast to the widest floating input type


#: autocast_mode.cpp, ``KERNEL_CPU(..., lower_precision_fp)``.
_LOWER = (
    "conv1d", "conv1d.padding", "conv2d", "conv2d.padding", "conv3d", "conv3d.padding",
    "bmm", "mm", "linalg_vecdot", "baddbmm", "addmm", "addbmm", "linear",
    "_convolution.deprecated", "matmul", "conv_tbc", "mkldnn_rnn_layer",
    "conv_transpose1d", "conv_transpose2d.input", "conv_transpose3d.input", "prelu",
    "scaled_dot_product_attention", "_native_multi_head_attention", "_addmm_activation",
)
#: autocast_mode.cpp, ``KERNEL_CPU(..., promote)``.
_PROMOTE = ("cat", "stack", "index_copy")


def _key(schema_name: str) -> str:
    """``aten::conv2d.padding`` -> ``aten.conv2d.padding``."""
    return schema_name.replace("::", ".")


@functools.lru_cache(maxsize=None)
def registered_ops() -> frozenset:
    """The overloads PyTorch's CPU autocast has a kernel for."""
    return frozenset(_key(n) for n in torch._C._dispatch_get_registrations_for_dispatch_key("AutocastCPU"))


@functools.lru_cache(maxsize=None)
def cpu_policy() -> Dict[str, Policy]:
    """``{overload: Policy}`` for every overload CPU autocast handles."""
    table = {}
    for name in registered_ops():
        short = name[len("aten."):]
        if short in _PROMOTE:
            table[name] = Policy.PROMOTE
        elif short in _LOWER:
            table[name] = Policy.LOWER
        else:
            table[name] = Policy.FP32
    return table


def policy_of(overload: str) -> Optional[Policy]:
    """The policy for ``aten.mm`` / ``aten.conv2d.padding``, or None."""
    return cpu_policy().get(overload)


def op_overloads() -> list:
    """The policy's ops as ``OpOverload``s (those this PyTorch has)."""
    found = []
    for name in cpu_policy():
        ns, rest = name.split(".", 1)
        op, _, overload = rest.partition(".")
        packet = getattr(getattr(torch.ops, ns), op, None)
        ov = getattr(packet, overload or "default", None) if packet is not None else None
        if ov is not None:
            found.append(ov)
    return found
