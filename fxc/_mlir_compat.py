"""The one module that touches MLIR binding APIs that move between LLVM versions.

Context creation, Python-defined passes in a PassManager, greedy pattern
application and textual pipeline splitting live here, so an upgrade of the
torch-mlir wheel touches this file only.
"""

from __future__ import annotations

import re
from typing import Callable, Iterable, List, Optional, Sequence

from torch_mlir import ir, passmanager, rewrite
from torch_mlir.dialects import arith
from torch_mlir.dialects import torch as torch_dialect

from fxc.dialects import fxc as fxc_dialect


def new_context() -> ir.Context:
    """A context with the torch and fxc dialects loaded."""
    ctx = ir.Context()
    torch_dialect.register_dialect(ctx)
    _load_pass_dependent_dialects(ctx)
    fxc_dialect.load(ctx)
    return ctx


def _load_pass_dependent_dialects(ctx: ir.Context) -> None:
    # torch-mlir registers `torch_c` (and the upstream dialects its
    # conversions produce) only as dependencies of its passes, so IR that
    # mentions them cannot be parsed until such a pass has run once.
    with ctx:
        module = ir.Module.parse("")
        passmanager.PassManager.parse(
            "builtin.module(func.func(convert-torch-to-linalg, convert-torch-to-tmtensor))"
        ).run(module.operation)


def parse_module(text: str, context: ir.Context) -> ir.Module:
    with context:
        return ir.Module.parse(text)


#: Elements / resource bytes above which a constant is elided in IR a
#: person reads (``elide=True``); such text cannot be parsed back.
ELIDE_ELEMENTS = 16
ELIDE_RESOURCE_BYTES = 64


def module_asm(module: ir.Module, *, debug_info: bool = False, elide: bool = False) -> str:
    if elide:
        return module.operation.get_asm(enable_debug_info=debug_info, large_elements_limit=ELIDE_ELEMENTS,
                                        large_resource_limit=ELIDE_RESOURCE_BYTES)
    return module.operation.get_asm(enable_debug_info=debug_info)


def split_pipeline(text: str) -> List[str]:
    """Splits ``builtin.module(a, b{x=1}, func.func(c))`` into its elements.

    A bare comma-separated list (no ``builtin.module(...)`` wrapper) is
    accepted too.
    """
    text = text.strip()
    if text.startswith("builtin.module(") and text.endswith(")"):
        text = text[len("builtin.module(") : -1]
    out, depth, cur = [], 0, []
    for ch in text:
        if ch in "({":
            depth += 1
        elif ch in ")}":
            depth -= 1
        if ch == "," and depth == 0:
            out.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    if "".join(cur).strip():
        out.append("".join(cur).strip())
    return out


PythonPass = Callable[[ir.Operation], None]


def build_pass_manager(
    context: ir.Context,
    elements: Sequence[str],
    python_passes: dict,
    *,
    verify: bool = True,
) -> passmanager.PassManager:
    """A module PassManager running ``elements`` in order.

    An element naming a key of ``python_passes`` runs that Python pass (a
    callable taking the module operation and raising on failure); any other
    element is an upstream/torch-mlir textual pipeline element.  With
    ``verify``, the module is verified after every pass; without, after the
    Python passes only, unless one returns ``False`` (it changed nothing).
    The upstream passes are trusted: verifying a large LLVM-dialect module
    after each of them took a sixth of a compile.
    """
    with context:
        pm = passmanager.PassManager("builtin.module")
        pm.enable_verifier(verify)
        for element in elements:
            name, options = _split_options(element)
            fn = python_passes.get(name)
            if fn is None:
                pm.add(element)
            else:
                pm.add(_external(lambda op, fn=fn, options=options: fn(op, **options), verify=not verify),
                       name=name, argument=name)
    return pm


def _split_options(element: str) -> tuple:
    """``name{a-b=1 c=x}`` -> ``("name", {"a_b": "1", "c": "x"})``."""
    name, brace, rest = element.partition("{")
    if not brace or not rest.endswith("}"):
        return element, {}
    pairs = (item.partition("=") for item in rest[:-1].split())
    return name, {k.replace("-", "_"): (v if eq else "true") for k, eq, v in pairs}


_pending_errors: list = []


def _external(fn: PythonPass, *, verify: bool = False):
    def run(op, pass_):
        try:
            with op.context, ir.Location.unknown(op.context):
                changed = fn(op)
            if verify and changed is not False:  # False: the pass left the module as it was
                op.verify()
        except Exception as e:  # re-raised by run_pass_manager
            _pending_errors.append(e)
            pass_.signal_pass_failure()

    return run


def run_pass_manager(pm: passmanager.PassManager, module: ir.Module) -> None:
    """Runs ``pm``; an exception raised in a Python pass is re-raised as is."""
    del _pending_errors[:]
    try:
        pm.run(module.operation)
    except ir.MLIRError:
        if _pending_errors:
            err = _pending_errors[0]
            del _pending_errors[:]
            raise err from None
        raise


def apply_patterns(op: ir.Operation, patterns: Iterable) -> None:
    """Applies patterns greedily (with folding) to ``op``.

    Each pattern has ``root`` (an op name) and ``rewrite(op, rewriter)``
    returning True when it rewrote ``op``.
    """
    rps = rewrite.RewritePatternSet()
    for p in patterns:
        rps.add(p.root, _adapt(p), benefit=getattr(p, "benefit", 1))
    rewrite.apply_patterns_and_fold_greedily(op, rps.freeze())


def _adapt(pattern):
    def fn(op, rewriter):
        # The binding's convention: a falsy return means "matched".
        return not pattern.rewrite(op.operation if hasattr(op, "operation") else op, rewriter)

    return fn


def walk(op: ir.Operation, fn: Callable[[ir.Operation], None]) -> None:
    """Calls ``fn`` on every operation nested in ``op`` (pre-order)."""

    def visit(o):
        fn(o)
        return ir.WalkResult.ADVANCE

    op.walk(visit, ir.WalkOrder.PRE_ORDER)


def ops_named(op: ir.Operation, name: str) -> List[ir.Operation]:
    found = []

    def visit(o):
        if o.name == name:
            found.append(o)
        return ir.WalkResult.ADVANCE

    op.walk(visit)
    return found


def nested_ops(op: ir.Operation, name: Optional[str] = None) -> List[ir.Operation]:
    """Every operation nested in ``op`` (not ``op`` itself), in pre-order;
    only those named ``name`` when given."""
    out = []
    for region in op.regions:
        for block in region.blocks:
            for child in block.operations:
                child = child.operation
                if name is None or child.name == name:
                    out.append(child)
                out.extend(nested_ops(child, name))
    return out


def index_constant(v: int) -> ir.Value:
    """An ``arith.constant`` of index type (at the current insertion point)."""
    return arith.ConstantOp(ir.IndexType.get(), v).result


def defined_inside(value: ir.Value, op: ir.Operation) -> bool:
    """Whether ``value`` is defined inside ``op``'s regions (a block
    argument of one of them, or the result of an op nested in it)."""
    owner = value.owner
    parent = owner.owner if isinstance(owner, ir.Block) else owner.parent
    while parent is not None:
        if parent == op:
            return True
        parent = parent.parent
    return False


class ResourceBlobs:
    """The ``dense_resource`` blobs of a module, by name.

    The bindings give no access to a blob's bytes, so they are read from the
    module's printed resource section, once, and only if a literal is cast.
    """

    def __init__(self, module_op):
        self._module_op = module_op
        self._blobs = None

    def get(self, name) -> Optional[bytes]:
        if name is None:
            return None
        if self._blobs is None:
            self._blobs = {}
            text = self._module_op.get_asm(binary=False)
            start = text.find("{-#")
            for key, hexdata in re.findall(r'([\w.\-]+): "0x([0-9A-Fa-f]*)"', text[start:] if start >= 0 else ""):
                self._blobs[key] = bytes.fromhex(hexdata)[4:]  # the first 4 bytes are the alignment
        return self._blobs.get(name)
