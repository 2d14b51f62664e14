"""fxc-pack-transposed-rhs: a ``linalg.matmul`` whose right operand is a
transposed copy of a buffer the program never writes (a ``Linear``
layer's weight, ``x @ W.T``, as bufferization leaves it: ``linalg.transpose``
into a fresh ``[K, N]`` buffer, then the matmul) transposes it a
cache-sized panel at a time instead, each panel read by every row of A
while it is in the cache::

    for j in N / nc:                      (scf.parallel: threads)
      panel = alloc [kc, nc]
      for k in K / kc:
        panel = transpose(W[j*nc : +nc, k*kc : +kc])
        C[:, j*nc : +nc] += A[:, k*kc : +kc] @ panel

The whole transpose went to memory and back on every call (an unfrozen
program reads its weights at each call: 4 MB written and read again for a
1024 x 1024 layer); a panel (``kc x nc <= 256 x 256`` floats) stays in
the L2 cache.  The panels and matmuls carry ``fxc.sequential`` (the threads
are the panel loop's); fxc-convert-linalg-to-vector then vectorizes the
transposes (16 x 16 register tiles) and register-tiles the matmuls.
Frozen weights never come this way: their transposes are folded at compile
time.

Only static f32 matmuls with the default indexing maps whose N and K have
divisors fit for panels (``nc`` a multiple of 16, ``kc`` of 8) are
rewritten, and only when W is a function argument or a global that no op
writes; the transpose stays for any other user.
"""

from __future__ import annotations

from torch_mlir import ir
from torch_mlir.dialects import arith, linalg, memref, scf

from fxc._mlir_compat import index_constant, nested_ops
from fxc.backends.cpu.passes.fuse_rows import writers
from fxc.compiler.passes import ModulePass, register

#: Multiply-adds below which the panel loop runs on one thread.
_PARALLEL_WORK = 1 << 20
#: The widest panel (columns of C) and the deepest (rows of the panel).
_NC, _KC = 256, 256


def _static_f32(value: ir.Value) -> bool:
    t = ir.MemRefType(value.type)
    return t.has_static_shape and isinstance(t.element_type, ir.F32Type)


def _read_only_source(value: ir.Value) -> bool:
    """A function argument or a global, never written."""
    owner = value.owner
    if isinstance(owner, ir.Block):
        source = True
    else:
        source = owner.operation.name == "memref.get_global"
    return source and writers(value) == []


_DEFAULT_MAPS = ("[affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d2, d1)>, "
                 "affine_map<(d0, d1, d2) -> (d0, d1)>]")


def _default_matmul(op) -> bool:
    return (op.name == "linalg.matmul" and "cast" not in op.attributes
            and ("indexing_maps" not in op.attributes or str(op.attributes["indexing_maps"]) == _DEFAULT_MAPS))


def _panel_sizes(n: int, k: int) -> tuple[int, int] | None:
    """``(nc, kc)``: nc the widest multiple of 16 dividing N, at most 256,
    that gives 4 panels or more (an even number if one does) where N has
    room; kc the deepest multiple of 8 dividing K, at most 256."""
    widths = [d for d in range(_NC, 15, -16) if n % d == 0]
    kcs = [d for d in range(_KC, 7, -8) if k % d == 0]
    if not widths or not kcs:
        return None
    many = [d for d in widths if n // d >= 4]
    even = [d for d in many if (n // d) % 2 == 0]
    return (even or many or widths)[0], kcs[0]


def _subview(source: ir.Value, offsets: list, sizes: list) -> ir.Value:
    """``source[offsets : +sizes]`` (offsets: ints or index values)."""
    t = ir.MemRefType(source.type)
    strides, _ = t.get_strides_and_offset()
    dynamic = ir.ShapedType.get_dynamic_stride_or_offset()
    static = [o if isinstance(o, int) else dynamic for o in offsets]
    values = [o for o in offsets if not isinstance(o, int)]
    layout = ir.StridedLayoutAttr.get(dynamic, strides)
    result = ir.MemRefType.get(sizes, t.element_type, layout, t.memory_space)
    return memref.SubViewOp(result, source, values, [], [], static, sizes, [1] * t.rank).result


@register
class PackTransposedRhs(ModulePass):
    name = "fxc-pack-transposed-rhs"
    summary = "Transpose a matmul's transposed-weight operand a cache-sized panel at a time, reused by every row"

    def __init__(self, parallel: bool = False):
        self.parallel = parallel in (True, "true", "1", 1)

    def run(self, module_op):
        changed = False
        for op in nested_ops(module_op, "linalg.transpose"):
            changed |= self._rewrite(op)
        return changed

    def _rewrite(self, transpose) -> bool:
        source, copy = transpose.operands[0], transpose.operands[1]
        if list(ir.DenseI64ArrayAttr(transpose.attributes["permutation"])) != [1, 0]:
            return False
        if isinstance(copy.owner, ir.Block) or copy.owner.operation.name != "memref.alloc":
            return False
        if not (_static_f32(copy) and _static_f32(source) and _read_only_source(source)):
            return False
        users = [use.owner.operation for use in copy.uses]
        matmuls = [u for u in users if _default_matmul(u) and u.operands[1] == copy and u.operands[0] != copy
                   and u.operands[2] != copy]
        if any(u != transpose and u.name != "memref.dealloc" and u not in matmuls for u in users):
            return False
        deallocs = [u for u in users if u.name == "memref.dealloc"]
        done = [m for m in matmuls if self._panels(m, source)]
        if len(done) != len(matmuls):
            return bool(done)
        for u in deallocs:
            u.erase()
        transpose.erase()
        copy.owner.operation.erase()
        return True

    def _panels(self, matmul, weight: ir.Value) -> bool:
        """Rewrites ``matmul`` (``A @ transpose(weight)``) into the panel
        loop; whether it did."""
        lhs, out = matmul.operands[0], matmul.operands[2]
        if not (_static_f32(lhs) and _static_f32(out)):
            return False
        m, k = ir.MemRefType(lhs.type).shape
        n = ir.MemRefType(out.type).shape[1]
        sizes = _panel_sizes(n, k)
        if sizes is None or n < 64:
            return False
        nc, kc = sizes
        f32 = ir.F32Type.get()
        parallel = self.parallel and m * n * k >= _PARALLEL_WORK and n // nc >= 2
        with matmul.location, ir.InsertionPoint(matmul):
            zero, one = index_constant(0), index_constant(1)
            if parallel:
                loop = scf.ParallelOp([], [zero], [index_constant(n // nc)], [one], [])
                body = loop.regions[0].blocks.append(ir.IndexType.get())
                j = body.arguments[0]
            else:
                loop = scf.ForOp(zero, index_constant(n // nc), one)
                body, j = loop.body, loop.induction_variable
        with matmul.location, ir.InsertionPoint(body):
            col = arith.MulIOp(j, index_constant(nc)).result
            panel = memref.AllocOp(ir.MemRefType.get([kc, nc], f32), [], [], alignment=64).result
            steps = scf.ForOp(index_constant(0), index_constant(k // kc), index_constant(1))
            with ir.InsertionPoint(steps.body):
                row = arith.MulIOp(steps.induction_variable, index_constant(kc)).result
                linalg.transpose(_subview(weight, [col, row], [nc, kc]), outs=[panel], permutation=[1, 0])
                steps.body.operations[len(steps.body.operations) - 1].attributes["fxc.sequential"] = \
                    ir.UnitAttr.get()
                linalg.matmul(_subview(lhs, [0, row], [m, kc]), panel, outs=[_subview(out, [0, col], [m, nc])])
                steps.body.operations[len(steps.body.operations) - 1].attributes["fxc.sequential"] = \
                    ir.UnitAttr.get()
                scf.YieldOp([])
            memref.DeallocOp(panel)
            if parallel:
                scf.ReduceOp([], 0)
            else:
                scf.YieldOp([])
        matmul.erase()
        return True

