"""Helpers shared by fxc's tests (lit Python scripts and pytest)."""

from __future__ import annotations

import gc

import torch
import torch.utils._pytree as pytree

from torch_mlir import ir


def run(f):
    """Runs a lit test case: prints ``TEST: name`` for FileCheck, runs it,
    then checks that it left no MLIR context alive.

    Use as a decorator::

        @run
        def test_print():
            print(fxc.export(M(), args).mlir)
        # CHECK-LABEL: TEST: test_print
    """
    print(f"\nTEST: {f.__name__}", flush=True)
    f()
    gc.collect()
    live = ir.Context._get_live_count()
    assert live == 0, f"{f.__name__} leaked {live} MLIR context(s)"
    return f


def assert_same(actual, expected):
    """Outputs match eager exactly in structure, dtype and shape; values
    exactly for integer dtypes and to float rounding otherwise."""
    fa, sa = pytree.tree_flatten(actual)
    fe, se = pytree.tree_flatten(expected)
    assert sa == se, f"structure {sa} != {se}"
    for a, e in zip(fa, fe):
        if isinstance(e, torch.Tensor):
            assert a.dtype == e.dtype and a.shape == e.shape, (a.dtype, a.shape, e.dtype, e.shape)
            if e.is_floating_point():
                torch.testing.assert_close(a, e)
            else:
                assert torch.equal(a, e)
        else:
            assert a == e
