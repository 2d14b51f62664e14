"""PyTorch names as plain data: dtypes and operator overloads by name."""

from __future__ import annotations

import torch


def dtype_name(dtype: torch.dtype) -> str:
    """``"float32"`` for ``torch.float32``."""
    return str(dtype).removeprefix("torch.")


def dtype_of(name: str) -> torch.dtype:
    """``torch.float32`` for ``"float32"``; raises ValueError for anything else."""
    value = getattr(torch, name, None)
    if not isinstance(value, torch.dtype):
        raise ValueError(f"'{name}' is not a torch dtype")
    return value


def resolve_overload(name: str):
    """``torch.ops.aten.mm.default`` for ``"aten.mm.default"``; None if unknown."""
    parts = name.split(".")
    if len(parts) != 3:
        return None
    ns, op, overload = parts
    try:
        return getattr(getattr(getattr(torch.ops, ns), op), overload)
    except (AttributeError, RuntimeError):
        return None
