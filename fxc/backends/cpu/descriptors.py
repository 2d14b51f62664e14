"""ctypes memref descriptors, built once per rank and reused every call.

torch-mlir's stock ``runtime`` helpers build new ctypes classes on every call
(~290 us); fxc caches one Structure class per rank and one descriptor per
argument position, so a call only writes data pointers.
"""

from __future__ import annotations

import ctypes
import functools

import torch


@functools.lru_cache(maxsize=None)
def descriptor_class(rank: int):
    """The ranked memref descriptor struct MLIR's LLVM lowering uses."""
    fields = [
        ("allocated", ctypes.c_void_p),
        ("aligned", ctypes.c_void_p),
        ("offset", ctypes.c_int64),
    ]
    if rank:
        fields += [("sizes", ctypes.c_int64 * rank), ("strides", ctypes.c_int64 * rank)]
    return type(f"MemRef{rank}D", (ctypes.Structure,), {"_fields_": fields})


def contiguous_strides(shape) -> list:
    strides, acc = [], 1
    for d in reversed(list(shape)):
        strides.append(acc)
        acc *= max(int(d), 1)
    return list(reversed(strides))


def make_descriptor(shape):
    """A descriptor for a contiguous tensor of static ``shape``."""
    desc = descriptor_class(len(shape))()
    desc.offset = 0
    for i, (d, s) in enumerate(zip(shape, contiguous_strides(shape))):
        desc.sizes[i] = int(d)
        desc.strides[i] = s
    return desc


def tensor_view(desc, dtype: torch.dtype) -> torch.Tensor:
    """A torch tensor viewing the memory a descriptor points to (no copy)."""
    rank = len(desc.sizes) if hasattr(desc, "sizes") else 0
    sizes = [desc.sizes[i] for i in range(rank)]
    strides = [desc.strides[i] for i in range(rank)]
    numel = 1
    for d in sizes:
        numel *= d
    if numel == 0:
        return torch.empty(sizes, dtype=dtype)
    itemsize = torch.empty((), dtype=dtype).element_size()
    span = 1 + sum((d - 1) * s for d, s in zip(sizes, strides))
    base = desc.aligned + desc.offset * itemsize
    buf = (ctypes.c_char * (span * itemsize)).from_address(base)
    flat = torch.frombuffer(buf, dtype=dtype, count=span)
    return flat.as_strided(sizes, strides)
