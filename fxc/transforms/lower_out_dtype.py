"""fxc-lower-out-dtype: ``fxc.out_dtype`` to torch ops torch-mlir lowers well.

Runs on imported torch IR, before torch-mlir's simplification (whose backend
contract admits no foreign ops).  Eager PyTorch computes
``out_dtype(op, dtype, *args)`` as ``out_dtype_fallback`` does: the dtype
``P`` the arguments promote to together with ``dtype``
(``elementwise_dtypes(...)[0]`` over every tensor and scalar leaf and a
``dtype`` tensor), then ``op`` on the arguments cast to ``P``, then a cast of
the result to ``dtype``.  One pattern per wrapped op kind:

* :class:`IntMatmul` (``aten.mm``), :class:`IntLinear` (``aten.linear``) and
  :class:`IntConvolution` (``aten.conv2d`` / ``aten.convolution``): when both
  operands are integers of one width and ``P`` is an integer type, the op is
  emitted on the *uncast* operands with its result typed in an integer
  accumulator type (``P``, or narrower: see :func:`accumulator`).
  torch-mlir turns that into one mixed-precision linalg op (e.g.
  ``linalg.matmul ins(i8, i8) outs(i32)``, sign or zero extension inside the
  op): no copies of the inputs in a wider type, and no accumulator wider
  than the result needs.  Integer arithmetic wraps, so this is bit-exact
  with eager.  Convolutions only take signed operands: linalg's named
  convolutions sign-extend unconditionally (torch-mlir emits them for
  ``ui8`` too, which would be wrong), so unsigned ones go to Generic.
* :class:`UnbatchedConv2d`: ``conv2d`` of a ``[C, H, W]`` input becomes the
  batched one between two views (torch-mlir crashes on the unbatched form).
* :class:`Generic`: anything else, exactly as eager: cast the tensor
  arguments to ``P``, run the op as an ordinary torch op, cast the result.
"""

from __future__ import annotations

from typing import List, Optional

import torch
import torch.utils._pytree as pytree
from torch._prims_common import ELEMENTWISE_TYPE_PROMOTION_KIND, elementwise_dtypes
from torch_mlir import ir

from fxc._mlir_compat import apply_patterns, walk
from fxc.dialects import fxc as fxc_d
from fxc.dialects.torch_types import (
    TorchBuilder,
    dtype_asm,
    resolve_overload,
    torch_dtype,
    vtensor_parts,
    vtensor_type,
)
from fxc.transforms.lower_effects import constant_value
from fxc.compiler.passes import ModulePass, register

#: Integer element types the mixed-precision patterns accept, with widths.
_INT_WIDTH = {"si8": 8, "ui8": 8, "si16": 16, "si32": 32, "si64": 64}
#: Contractions, whose torch-mlir lowering crashes on an 8-bit result.
_CONTRACTIONS = ("aten.mm.default", "aten.linear.default", "aten.conv2d.default", "aten.convolution.default")
_STAND_IN = {"!torch.float": 1.0, "!torch.int": 1, "!torch.bool": True, "!torch.number": 1.0}


# -- eager's promotion -------------------------------------------------------
def _meta_arg(value: ir.Value):
    """A stand-in for an operand when asking PyTorch for dtypes: a meta tensor
    of the operand's dtype, or the constant's Python value (a non-constant
    scalar becomes a value of its type)."""
    parts = vtensor_parts(value.type)
    if parts is not None:
        dims, asm = parts
        return torch.empty([1 if d is None else d for d in dims], dtype=torch_dtype(asm), device="meta")
    try:
        return constant_value(value)
    except KeyError:
        return _STAND_IN.get(str(value.type))


def promotion(op: ir.Operation):
    """``(P, computed)`` for an ``fxc.out_dtype``: the dtype eager casts the
    tensor arguments to, and the dtype the op returns on such arguments.

    ``P`` is ``out_dtype_fallback``'s: every tensor and scalar leaf of the
    arguments (lists flattened, as ``pytree.arg_tree_leaves``) promoted with a
    one-element tensor of the out dtype.  The importer fills in defaulted
    arguments eager never saw (``conv2d``'s stride...); they are ints, which
    only promote all-bool tensors, and eager has no bool convolution.

    Args:
        op: an ``fxc.out_dtype`` operation.

    Returns:
        ``(P, computed)`` as ``torch.dtype`` values.
    """
    overload = resolve_overload(fxc_d.wrapped_op_name(op))
    out_dtype = torch_dtype(vtensor_parts(op.results[0].type)[1])
    metas = [_meta_arg(a) for a in op.operands]
    leaves = [x for x in pytree.arg_tree_leaves(*metas) if isinstance(x, (torch.Tensor, bool, int, float))]
    promote = elementwise_dtypes(
        *leaves, torch.ones(1, dtype=out_dtype, device="meta"),
        type_promotion_kind=ELEMENTWISE_TYPE_PROMOTION_KIND.DEFAULT,
    )[0]
    casted = [m.to(promote) if isinstance(m, torch.Tensor) else m for m in metas]
    return promote, overload(*casted).dtype


def eager_result(op: ir.Operation):
    """What eager returns for an ``fxc.out_dtype``'s operands (a meta tensor).

    Raises:
        ValueError: eager rejects the operands (a negative stride, a kernel
            larger than its input...); the message is PyTorch's.
    """
    overload = resolve_overload(fxc_d.wrapped_op_name(op))
    try:
        promote, _ = promotion(op)
        metas = [_meta_arg(a) for a in op.operands]
        return overload(*[m.to(promote) if isinstance(m, torch.Tensor) else m for m in metas])
    except (RuntimeError, TypeError, ValueError, IndexError, OverflowError) as e:
        raise ValueError(str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__) from None


def _asm(value: ir.Value) -> Optional[str]:
    parts = vtensor_parts(value.type)
    return None if parts is None else parts[1]


_SIGNED_OF_WIDTH = {8: torch.int8, 16: torch.int16, 32: torch.int32, 64: torch.int64}


def accumulator(op: ir.Operation, lhs: ir.Value, rhs: ir.Value, promote: torch.dtype, *, signed_only=False):
    """The dtype a contraction (mm, linear, conv) of the *uncast* ``lhs`` and
    ``rhs`` may accumulate in and stay bit-exact with eager, or None.

    The operands must be integers of one width and ``promote`` an integer
    type.  Eager computes in ``promote`` and casts to the out dtype; integer
    arithmetic wraps, so when the out dtype is an integer (not bool) only its
    low bits matter and the contraction can accumulate in a signed type of
    ``max(operand width, out width)`` instead (e.g. int8 inputs, an int64
    bias, int32 out: eager promotes to int64, fxc accumulates in int32).
    8-bit accumulators become 32-bit (see :func:`_wide_enough`).

    Args:
        op: the ``fxc.out_dtype`` operation (its result gives the out dtype).
        lhs, rhs: the contraction's two tensor operands.
        promote: ``P``, from :func:`promotion`.
        signed_only: reject unsigned operands (for named convolutions).

    Returns:
        A signed integer ``torch.dtype``, or None where the operands must be
        cast to ``P`` first (the generic path).
    """
    a, b, p = _asm(lhs), _asm(rhs), dtype_asm(promote)
    if a not in _INT_WIDTH or b not in _INT_WIDTH or p not in _INT_WIDTH or _INT_WIDTH[a] != _INT_WIDTH[b]:
        return None
    if signed_only and "ui8" in (a, b):
        return None
    out = _asm(op.results[0])
    width = _INT_WIDTH[p] if out not in _INT_WIDTH else max(_INT_WIDTH[a], _INT_WIDTH[out])
    return _SIGNED_OF_WIDTH[_wide_enough(width)]


def _wide_enough(width: int) -> int:
    """An accumulator width torch-mlir can lower: its ``aten.mm`` and
    convolution conversions crash on an 8-bit result (``mm(si8, si8) -> si8``),
    so 8-bit sums accumulate in 32 bits and are truncated after (exact:
    integer arithmetic wraps)."""
    return 32 if width == 8 else width


# -- building torch ops ------------------------------------------------------
def torch_op_name(op: ir.Operation) -> str:
    """The torch-mlir op for the overload an fxc op wraps: ``torch.aten.mul.Scalar``."""
    overload = resolve_overload(fxc_d.wrapped_op_name(op))
    name = "torch." + overload._schema.name.replace("::", ".")
    return name if overload._overloadname == "default" else f"{name}.{overload._overloadname}"


def _unsupported_tensor(t: ir.Type) -> bool:
    """A tensor whose dtype fxc cannot handle (complex: torch-mlir aborts on it)."""
    text = str(t)
    return text.startswith(("!torch.vtensor", "!torch.tensor")) and (vtensor_parts(t) is None or "complex" in text)


def _is_none(value: ir.Value) -> bool:
    return str(value.type) == "!torch.none"


def _int_bits(dtype: torch.dtype) -> Optional[int]:
    return None if dtype.is_floating_point or dtype.is_complex or dtype == torch.bool else torch.iinfo(dtype).bits


def _finish(op, rewriter, value: ir.Value, eager_dtype: torch.dtype) -> bool:
    """Replaces ``op`` by ``value`` cast to the out dtype.  A value computed
    in an integer type wider than ``eager_dtype`` (the dtype of eager's
    intermediate result) is wrapped to it first, as eager's is (this matters
    for a bool out dtype)."""
    out_dtype = _out(op)[1]
    computed = torch_dtype(_asm(value))
    if _int_bits(computed) and _int_bits(eager_dtype) and _int_bits(computed) > _int_bits(eager_dtype):
        value = TorchBuilder.cast(value, eager_dtype)
    if computed.is_floating_point and (_int_bits(out_dtype) or 64) < 32:
        # Eager casts a float to an 8/16-bit integer through int64, wrapping
        # (200.0 -> int8 is -56); torch-mlir converts directly (fptosi to i8,
        # undefined out of range, so 200.0 -> uint8 too).
        value = TorchBuilder.cast(value, torch.int64)
    rewriter.replace_op(op, [TorchBuilder.cast(value, out_dtype)])
    return True


def _out(op):
    dims, asm = vtensor_parts(op.results[0].type)
    return dims, torch_dtype(asm)


# -- patterns ----------------------------------------------------------------
class IntMatmul:
    """``aten.mm`` of two integer matrices of one width.

    Emits ``aten.mm`` typed in the accumulator type: torch-mlir converts it
    to one ``linalg.matmul`` with i8 inputs and an i32 accumulator
    (``cast_signed`` or ``cast_unsigned``), or, for ``si8 x ui8``, one
    ``linalg.generic`` contraction that sign/zero-extends each operand inside
    its body.
    """

    root = "fxc.out_dtype"
    benefit = 2

    def rewrite(self, op, rewriter) -> bool:
        if fxc_d.wrapped_op_name(op) != "aten.mm.default":
            return False
        lhs, rhs = op.operands
        promote = promotion(op)[0]
        acc = accumulator(op, lhs, rhs, promote)
        if acc is None:
            return False
        with op.location, ir.InsertionPoint(op):
            value = TorchBuilder.op("torch.aten.mm", [lhs, rhs], vtensor_type(_out(op)[0], dtype_asm(acc)))
            return _finish(op, rewriter, value, promote)


class IntLinear:
    """``aten.linear`` of integer ``x`` and 2-D ``w`` of one width.

    Emits ``mm(x viewed as [M, K], transpose(w))`` typed in the accumulator
    type, viewed back to the output shape, plus the bias cast to that type
    (a cast of N elements; the bias's dtype took part in the promotion).
    Done here rather than left to torch-mlir's ``aten.linear``
    decomposition, which broadcasts ``w`` over the batch dimensions of a 3-D
    ``x`` (a copy per batch) and extends a ``ui8`` bias as signed.  ``w`` is
    transposed as 8-bit data.  Shapes must be static (else Generic).
    """

    root = "fxc.out_dtype"
    benefit = 2

    def rewrite(self, op, rewriter) -> bool:
        if fxc_d.wrapped_op_name(op) != "aten.linear.default":
            return False
        x, w, bias = op.operands
        promote = promotion(op)[0]
        acc = accumulator(op, x, w, promote)
        (x_dims, _), (w_dims, w_asm) = vtensor_parts(x.type), vtensor_parts(w.type)
        dims = _out(op)[0]
        static = None not in x_dims + w_dims + dims
        if not (static and len(w_dims) == 2 and x_dims and acc is not None):
            return False
        (n, k), p_asm = w_dims, dtype_asm(acc)
        m = 1
        for d in x_dims[:-1]:
            m *= d
        with op.location, ir.InsertionPoint(op):
            x2 = x if len(x_dims) == 2 else TorchBuilder.view(x, [m, k])
            wt = TorchBuilder.op("torch.aten.transpose.int", [w, TorchBuilder.int(0), TorchBuilder.int(1)], vtensor_type([k, n], w_asm))
            y = TorchBuilder.op("torch.aten.mm", [x2, wt], vtensor_type([m, n], p_asm))
            if len(x_dims) != 2:
                y = TorchBuilder.view(y, dims)
            if not _is_none(bias):
                y = TorchBuilder.op("torch.aten.add.Tensor", [y, TorchBuilder.cast(bias, acc), TorchBuilder.int(1)], vtensor_type(dims, p_asm))
            return _finish(op, rewriter, y, promote)


class IntConvolution:
    """``aten.conv2d`` / ``aten.convolution`` of signed integers of one width.

    Emits ``aten.convolution`` typed in the accumulator type (``conv2d``
    spelled out with ``transposed=False``, zero output padding), with the
    bias cast to that type.  torch-mlir lowers it to a linalg named
    convolution with i8 inputs and an i32 accumulator initialised with the
    bias.  Unsigned operands are left to Generic (see the module
    docstring), and so is an 8-bit convolution into int64 that i32
    accumulation could get wrong.
    """

    root = "fxc.out_dtype"
    benefit = 2

    def rewrite(self, op, rewriter) -> bool:
        name = fxc_d.wrapped_op_name(op)
        if name not in ("aten.conv2d.default", "aten.convolution.default"):
            return False
        args = list(op.operands)
        promote = promotion(op)[0]
        acc = accumulator(op, args[0], args[1], promote, signed_only=True)
        if acc is None:
            return False
        if acc == torch.int64 and not self._int32_accumulation_exact(args):
            return False
        dims = _out(op)[0]
        with op.location, ir.InsertionPoint(op):
            if name == "aten.conv2d.default":
                x, w, bias, stride, padding, dilation, groups = args
                args = [x, w, bias, stride, padding, dilation, TorchBuilder.bool(False), TorchBuilder.int_list([0, 0]), groups]
            if not _is_none(args[2]):
                args[2] = TorchBuilder.cast(args[2], acc)
            value = TorchBuilder.op("torch.aten.convolution", args, vtensor_type(dims, dtype_asm(acc)))
            return _finish(op, rewriter, value, promote)

    @staticmethod
    def _int32_accumulation_exact(args) -> bool:
        """torch-mlir accumulates an 8-bit convolution in i32 whatever its
        result type (a wider one in i64): for an int64 result that is exact
        only without a bias (it would be truncated too) and when no sum of
        products can leave int32."""
        w_dims, w_asm = vtensor_parts(args[1].type)
        if _INT_WIDTH[w_asm] != 8:
            return True
        if not _is_none(args[2]):
            return False
        taps = 1
        for d in w_dims[1:]:
            if d is None:
                return False
            taps *= d
        return taps * 128 * 128 < 2**31


class UnbatchedConv2d:
    """``conv2d`` of an unbatched ``[C, H, W]`` input, spelled batched.

    Rewrites it into a view to ``[1, C, H, W]``, the out_dtype ``conv2d`` of
    that (which the patterns above lower), and a view of the result back to
    ``[F, H', W']``: torch-mlir's ``conv2d`` decomposition turns an unbatched
    input into an invalid ``convolution`` (and crashes on it).
    """

    root = "fxc.out_dtype"
    benefit = 3

    def rewrite(self, op, rewriter) -> bool:
        if fxc_d.wrapped_op_name(op) != "aten.conv2d.default":
            return False
        x, *rest = op.operands
        x_dims, x_asm = vtensor_parts(x.type)
        dims, out_asm = vtensor_parts(op.results[0].type)
        if len(x_dims) != 3 or None in x_dims + dims:
            return False
        out_type = ir.TypeAttr(op.attributes["out_dtype"]).value
        with op.location, ir.InsertionPoint(op):
            batched = fxc_d.out_dtype(
                "aten.conv2d.default", out_type, [TorchBuilder.view(x, [1, *x_dims]), *rest], vtensor_type([1, *dims], out_asm)
            )
            rewriter.replace_op(op, [TorchBuilder.view(batched, dims)])
        return True


class Generic:
    """Any allowed op, exactly as eager: cast to ``P``, compute, cast."""

    root = "fxc.out_dtype"
    benefit = 1

    def rewrite(self, op, rewriter) -> bool:
        promote, computed = promotion(op)
        result = computed
        if fxc_d.wrapped_op_name(op) in _CONTRACTIONS and _int_bits(computed) == 8:
            result = torch.int32  # see _wide_enough
        if computed.is_floating_point and not promote.is_floating_point:
            # True division of integers: eager converts each operand to the
            # float type and divides.  Converting here (aten.to.dtype knows
            # unsigned types) rather than inside the division, which
            # torch-mlir lowers with a signed conversion (uint8 200 -> -56.0).
            promote = computed
        with op.location, ir.InsertionPoint(op):
            operands: List[ir.Value] = [TorchBuilder.cast(a, promote) if _asm(a) else a for a in op.operands]
            value = TorchBuilder.op(torch_op_name(op), operands, vtensor_type(_out(op)[0], dtype_asm(result)))
            return _finish(op, rewriter, value, computed)


@register
class LowerOutDtype(ModulePass):
    name = "fxc-lower-out-dtype"
    summary = "Lower fxc.out_dtype to mixed-precision or promoted torch ops"

    def run(self, module_op):
        ops = []
        walk(module_op, lambda op: ops.append(op) if op.name == "fxc.out_dtype" else None)
        for op in ops:  # checked outside the walk, whose callbacks cannot raise
            name = fxc_d.wrapped_op_name(op)
            if not op.context.is_registered_operation(torch_op_name(op)):
                raise self.fail(op, f"'fxc.out_dtype' op wraps {name}, which torch-mlir has no op for")
            unknown = [str(v.type) for v in [*op.operands, *op.results] if _unsupported_tensor(v.type)]
            if unknown:
                raise self.fail(op, f"fxc cannot compile out_dtype({name}) on {unknown[0]}: complex dtypes are not supported")
            self._check_shape(op, name)
        apply_patterns(module_op, [UnbatchedConv2d(), IntMatmul(), IntLinear(), IntConvolution(), Generic()])

    def _check_shape(self, op, name):
        """The operands are ones eager accepts, giving the result's shape."""
        try:
            meta = eager_result(op)
        except ValueError as e:
            raise self.fail(op, f"out_dtype({name}): eager rejects these operands: {e}") from None
        dims = vtensor_parts(op.results[0].type)[0]
        if not isinstance(meta, torch.Tensor):
            raise self.fail(op, f"out_dtype({name}) returns a {type(meta).__name__}, not a tensor")
        if dims is not None and (len(dims) != meta.dim() or any(d not in (None, m) for d, m in zip(dims, meta.shape))):
            raise self.fail(op, f"out_dtype({name}): result type has shape {list(dims)}; eager's result has {list(meta.shape)}")
