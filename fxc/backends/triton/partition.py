"""Which linalg ops of a function run together in one kernel.

Ops are visited in reverse program order.  An op joins the group of its
users when all of them are in one group and that group can take it
(:func:`_can_absorb`); otherwise it starts a group of its own and is the
group's *root*, the one op whose results leave the kernel.  Because an op
only joins a group that holds every user, a group never needs a value of
another group that itself needs the first: kernels form a DAG in program
order, and no value is computed twice.

What a group can take:

A ``linalg.fill`` read only by kernels belongs to none: each kernel that
reads it recomputes it.

* a ``tm_tensor.scan`` (cumsum) is always a root; its group takes what a
  pointwise group takes but no reductions.
* ``pointwise`` / ``reduction`` groups: elementwise ``linalg.generic``,
  ``linalg.fill``, ``linalg.transpose``, unit-dim ``tensor.expand_shape`` /
  ``collapse_shape``, and reductions whose reduced sizes equal the group's
  (one persistent reduction axis per kernel: softmax, layer_norm, mean).
* ``matmul`` groups (a ``linalg.matmul`` / ``batch_matmul`` and the
  elementwise ops after it, its epilogue): elementwise generics and fills
  that do not feed the contraction, and a ``linalg.transpose`` of a kernel
  input feeding it directly (read through swapped strides).
"""

from __future__ import annotations

from typing import Dict, List, Optional

from torch_mlir import ir

from fxc.backends.triton.sizes import Shapes, Size
from fxc.errors import CompileError, location_of

CONTRACTIONS = ("linalg.matmul", "linalg.batch_matmul")
#: Data movement, read through index arithmetic by the kernel that uses it.
MOVES = ("tensor.extract_slice", "tensor.concat", "tensor.cast", "tensor.pad", "tensor.insert_slice")
#: Scans (cumsum): always a kernel's root, the scanned dim its reduction axis.
SCANS = ("tm_tensor.scan",)
COMPUTE = ("linalg.generic", "linalg.fill", "linalg.transpose", *MOVES, *CONTRACTIONS, *SCANS)
RESHAPES = ("tensor.expand_shape", "tensor.collapse_shape")
#: Ops left in the host function (views, effects, constants).
#: Scalar size arithmetic (dynamic shapes), left in the host function too.
SIZE_OPS = ("tensor.dim", "arith.muli", "arith.addi", "arith.subi", "arith.divsi", "arith.floordivsi",
            "arith.ceildivsi", "arith.divui", "arith.remsi", "arith.index_cast", "affine.apply", "arith.cmpi",
            "arith.select", "arith.maxsi", "arith.minsi")
#: Checks on sizes (torch-mlir's ``cf.assert``s of matching dims): host-plan checks.
CHECK_OPS = ("cf.assert",)
#: Reshapes to sizes computed at run time: views made by the host plan.
HOST_VIEWS = ("tensor.reshape", "tensor.from_elements")
HOST_OPS = ("tensor.empty", "arith.constant", "func.call", "func.return", *RESHAPES, *SIZE_OPS, *CHECK_OPS,
            *HOST_VIEWS)


def iterator_types(op) -> List[str]:
    return [str(a).strip('"').split("<")[-1].rstrip(">") for a in ir.ArrayAttr(op.attributes["iterator_types"])]


def is_reduction(op) -> bool:
    return op.name == "linalg.generic" and "reduction" in iterator_types(op)


def reduced_sizes(op) -> tuple:
    """The sizes of a reduction generic's reduced loops, in loop order."""
    sizes = loop_sizes(op)
    return tuple(s for s, it in zip(sizes, iterator_types(op)) if it == "reduction")


def dim_position(e) -> Optional[int]:
    """The loop an indexing-map result reads, or None for a constant."""
    e = e.maybe_downcast() if hasattr(e, "maybe_downcast") else e
    return e.position if isinstance(e, ir.AffineDimExpr) else None


def indexing_maps(op) -> list:
    return [ir.AffineMapAttr(a).value for a in ir.ArrayAttr(op.attributes["indexing_maps"])]


def loop_sizes(op, shapes: Optional[Shapes] = None) -> List[Size]:
    """The loop ranges of a generic (from its operands' shapes; a dynamic
    range is an expression over size symbols)."""
    shapes = shapes or Shapes()
    maps = indexing_maps(op)
    sizes: List[Optional[Size]] = [None] * maps[0].n_dims
    for m, v in zip(maps, op.operands):
        for e, s in zip(m.results, shapes.shape(v)):
            if dim_position(e) is not None and (sizes[dim_position(e)] is None or isinstance(s, int)):
                sizes[dim_position(e)] = s
    if any(s is None for s in sizes):
        raise CompileError("fxc's Triton backend cannot find a loop's range here", location_of(op.location))
    return sizes


def is_unit_reshape(op) -> bool:
    """An expand/collapse_shape that only adds or drops size-1 dims."""
    src = ir.RankedTensorType(op.operands[0].type).shape
    dst = ir.RankedTensorType(op.results[0].type).shape
    big = src if len(src) > len(dst) else dst
    for group in ir.ArrayAttr(op.attributes["reassociation"]):
        if sum(1 for i in ir.ArrayAttr(group) if big[ir.IntegerAttr(i).value] != 1) > 1:
            return False
    return True


class Group:
    def __init__(self, root):
        self.root = root
        self.ops = [root]
        self.contraction = root if root.name in CONTRACTIONS else None
        self.r_sizes = reduced_sizes(root) if is_reduction(root) else None
        #: ops whose values flow into the contraction (they cannot be epilogue)
        self.feeds_contraction = set()

    @property
    def kind(self) -> str:
        if self.contraction is not None:
            return "matmul"
        return "reduction" if self.r_sizes is not None or self.root.name in SCANS else "pointwise"


def _users(op) -> list:
    return [use.owner for r in op.results for use in r.uses]


def _can_absorb(g: Group, op, users) -> bool:
    name = op.name
    if name == "linalg.fill":
        return True
    if name in SCANS or (g.root.name in SCANS and (is_reduction(op) or name in CONTRACTIONS)):
        return False
    if g.contraction is not None:
        upstream = any(u == g.contraction or u in g.feeds_contraction for u in users)
        if upstream:
            # A transpose of a kernel input, read by the contraction through strides.
            return name == "linalg.transpose" and all(u == g.contraction for u in users)
        return name == "linalg.generic" and not is_reduction(op)
    if name in RESHAPES:
        return is_unit_reshape(op)
    if name == "linalg.transpose" or name in MOVES:
        return True
    if name in CONTRACTIONS:
        return g.r_sizes is None and all(o.name in ("linalg.generic", "linalg.fill") for o in g.ops)
    if name != "linalg.generic":
        return False
    if is_reduction(op):
        return g.r_sizes is None or g.r_sizes == reduced_sizes(op)
    return True


def _absorb(g: Group, op, users) -> None:
    g.ops.append(op)
    if op.name in CONTRACTIONS:
        g.contraction = op
    elif is_reduction(op):
        g.r_sizes = reduced_sizes(op)
    if g.contraction is not None and any(u == g.contraction or u in g.feeds_contraction for u in users):
        g.feeds_contraction.add(op)


def partition(block: ir.Block) -> List[Group]:
    """The kernels of a function body, in program order (each group's ops
    in program order too)."""
    ops = [op.operation for op in block.operations]
    group_of: Dict[ir.Operation, Group] = {}
    groups: List[Group] = []
    for op in reversed(ops):
        if op.name not in COMPUTE and op.name not in RESHAPES:
            if op.name not in HOST_OPS:
                raise CompileError(f"fxc's Triton backend does not support '{op.name}' yet "
                                   f"(no kernel partitioning rule for it)", location_of(op.location))
            continue
        users = _users(op)
        if op.name == "linalg.fill" and users and all(u in group_of for u in users):
            continue  # cheap: each kernel that reads it computes it (cloned by the outliner)
        owners = {id(group_of.get(u)) for u in users}
        g = group_of.get(users[0]) if users and len(owners) == 1 else None
        if g is not None and _can_absorb(g, op, users):
            _absorb(g, op, users)
            group_of[op] = g
        elif op.name in RESHAPES:
            continue  # a view of a materialized tensor: the host plan makes it
        else:
            g = Group(op)
            group_of[op] = g
            groups.append(g)
    for g in groups:
        g.ops.reverse()
    groups.reverse()
    return groups
