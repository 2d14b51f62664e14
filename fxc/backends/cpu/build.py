"""From the ``llvm`` stage to an artifact: a shared object plus its host calls.

MLIR's ExecutionEngine compiles the module for the host CPU (position
independent code, optimisation level from the options) and writes the object
it produced; the system C compiler driver (``cc``, which Triton needs as
well) links it into ``program.so``.  The host-call declarations become the
manifest's ``host_calls``: plain data the runtime reads without MLIR.
"""

from __future__ import annotations

import atexit
import ctypes
import functools
import os
import shutil
import subprocess
import tempfile
import threading
from typing import List, Optional, Tuple

from torch_mlir import ir
from torch_mlir.execution_engine import ExecutionEngine

from fxc.backends.cpu import openmp as openmp_runtime
from fxc.backends.cpu.passes.indirect_host_calls import SLOT_SUFFIX
from fxc.backends.cpu.passes.recoverable_checks import CALLEE, MESSAGES
from fxc.backends.cpu.runtime import SHARED_OBJECT
from fxc.compiler.timing import phase
from fxc.dialects import host_calls
from fxc.errors import CompileError, location_of

#: Linked into every shared object: the entry is called through
#: ``fxc_guarded_call``, to which a failed check (fxc-recoverable-checks)
#: returns with its index; -1 when the code ran to the end.
GUARD_C = r"""
#include <setjmp.h>
#include <stdlib.h>
static __thread jmp_buf *fxc_env;
static __thread int fxc_failed;
void fxc_check_failed(int index) {
  if (!fxc_env) abort();
  fxc_failed = index;
  longjmp(*fxc_env, 1);
}
int fxc_guarded_call(void (*fn)(void *), void *args) {
  jmp_buf env;
  jmp_buf *outer = fxc_env;
  fxc_env = &env;
  if (setjmp(env)) {
    fxc_env = outer;
    return fxc_failed;
  }
  fn(args);
  fxc_env = outer;
  return -1;
}
"""

#: memref.alloc/dealloc's functions (finalize-memref-to-llvm's generic
#: ones): a pool that keeps large buffers between calls, linked into every
#: shared object.
BUFFER_POOL_SOURCE = os.path.join(os.path.dirname(__file__), "buffer_pool.c")
BUFFER_POOL_SYMBOLS = ("_mlir_memref_to_llvm_alloc", "_mlir_memref_to_llvm_aligned_alloc",
                       "_mlir_memref_to_llvm_free")

# The JIT that compiles the module resolves every symbol; the shared
# object's fxc_check_failed and __kmpc_* are the shims'.  Never called.
_UNUSED_CHECK_FAILED = ctypes.CFUNCTYPE(None, ctypes.c_int)(lambda index: None)


def check_messages(module: ir.Module) -> List[str]:
    """The messages of the module's recoverable checks, by index."""
    attrs = module.operation.attributes
    return [ir.StringAttr(a).value for a in ir.ArrayAttr(attrs[MESSAGES])] if MESSAGES in attrs else []


def host_call_specs(module: ir.Module) -> List[dict]:
    """The manifest entries of the host calls of a module in the ``llvm`` stage
    (called through the function-pointer slots fxc-indirect-host-calls made)."""
    specs = []
    for op in module.body.operations:
        op = op.operation
        if op.name != "llvm.func" or "fxc.op" not in op.attributes or len(op.regions[0].blocks):
            continue
        memrefs = [ir.MemRefType(ir.TypeAttr(t).value) for t in ir.ArrayAttr(op.attributes["fxc.buffer_types"])]
        n_results = ir.IntegerAttr(op.attributes["fxc.num_results"]).value if "fxc.num_results" in op.attributes else 0
        specs.append(host_calls.manifest_entry(op, symbol=ir.StringAttr(op.attributes["sym_name"]).value + SLOT_SUFFIX,
                                               types=memrefs, num_inputs=len(memrefs) - n_results))
    return specs


def result_convention(module: ir.Module, entry: str) -> str:
    """``"out_params"`` when the entry fills caller-allocated results,
    ``"returned"`` when it returns buffers it allocated
    (fxc-results-to-out-params decides)."""
    for op in module.body.operations:
        op = op.operation
        if op.name == "llvm.func" and ir.StringAttr(op.attributes["sym_name"]).value == entry:
            ftype = str(ir.TypeAttr(op.attributes["function_type"]).value)
            return "out_params" if ftype.startswith("!llvm.func<void (") else "returned"
    raise CompileError(f"the module has no entry function '{entry}'")


#: Dialects that MLIR translates to LLVM IR.
_TRANSLATABLE = ("llvm", "omp", "builtin")


def _check_translatable(module: ir.Module) -> None:
    """A located CompileError for the first op LLVM translation would refuse
    (ExecutionEngine itself only says that it failed)."""
    for op in module.body.operations:
        bad = []

        def visit(o):
            if o.name.partition(".")[0] not in _TRANSLATABLE:
                bad.append(o)
                return ir.WalkResult.INTERRUPT
            return ir.WalkResult.ADVANCE

        op.operation.walk(visit)
        if bad:
            raise CompileError(f"fxc's CPU backend cannot translate '{bad[0].name}' to LLVM IR "
                               f"(no lowering to the LLVM dialect)", location_of(bad[0].location))


_shims_lock = threading.Lock()


def _shim_objects(cc: str, openmp: bool) -> Tuple[str, ...]:
    """The object files of the C code linked into every shared object (the
    guard, the buffer pool; with ``openmp``, the ``__kmpc`` shim), compiled once per process
    and C compiler rather than at every link (that took most of its time)."""
    with _shims_lock:
        shims = (_compiled(cc, "guard.c", GUARD_C), _compiled(cc, None, BUFFER_POOL_SOURCE))
        return (*shims, _compiled(cc, None, openmp_runtime.SHIM_SOURCE)) if openmp else shims


@functools.lru_cache(maxsize=None)
def _compiled(cc: str, name: Optional[str], source: str) -> str:
    """C code compiled by ``cc`` to an object file that lives as long as the
    process: the text ``source`` written to ``name``, or, with no ``name``,
    the file ``source``."""
    d = tempfile.mkdtemp(prefix="fxc-shim-")
    atexit.register(shutil.rmtree, d, ignore_errors=True)
    if name is not None:
        with open(os.path.join(d, name), "w") as f:
            f.write(source)
        source = os.path.join(d, name)
    obj = os.path.join(d, os.path.basename(source)[:-2] + ".o")
    out = subprocess.run([cc, "-c", "-fPIC", "-O2", "-o", obj, source], capture_output=True, text=True)
    if out.returncode != 0:
        raise CompileError(f"compiling fxc's C shim {os.path.basename(source)} failed: {out.stderr.strip()}")
    return obj


def shared_object(module: ir.Module, entry: str, *, opt_level: int, openmp: bool) -> bytes:
    """Compiles ``module`` (LLVM dialect) to a shared object's bytes; with
    ``openmp``, its parallel regions call the ``__kmpc`` shim on PyTorch's
    libgomp (:mod:`fxc.backends.cpu.openmp`), linked in."""
    _check_translatable(module)
    try:  # the ExecutionEngine translates the module and runs LLVM's optimisation pipeline on it
        with phase("LLVM: translate + optimize"):
            engine = ExecutionEngine(module, opt_level=opt_level, enable_object_dump=True, enable_pic=True)
    except RuntimeError as e:
        raise CompileError(f"LLVM could not compile the program: {e}") from None
    unused = ctypes.cast(_UNUSED_CHECK_FAILED, ctypes.c_void_p)
    for symbol in (CALLEE, *BUFFER_POOL_SYMBOLS, *(openmp_runtime.KMPC_SYMBOLS if openmp else ())):
        engine.raw_register_runtime(symbol, unused)
    with phase("LLVM: code generation (JIT)"):
        found = engine.raw_lookup(f"_mlir_ciface_{entry}")  # compiles the module
    if not found:
        raise CompileError(
            f"LLVM could not link '{entry}': a symbol the compiled code calls is missing "
            "(LLVM printed 'JIT session error: Symbols not found: [...]' above)"
        )
    cc = shutil.which(os.environ.get("CC", "cc"))
    if cc is None:
        raise CompileError("fxc's CPU backend links its code with the system C compiler driver, and "
                           "there is no 'cc' on PATH (install gcc or clang, or set CC)")
    with phase("compile the C shims (once per process)"):
        shims = _shim_objects(cc, openmp)
    with tempfile.TemporaryDirectory(prefix="fxc-link-") as d, phase("link (object file + cc -shared)"):
        obj, so = os.path.join(d, "program.o"), os.path.join(d, SHARED_OBJECT)
        engine.dump_to_object_file(obj)
        # -Bsymbolic: the object's own functions (``main``...) bind to
        # themselves, never to a same-named symbol of the process (python's).
        link = subprocess.run([cc, "-shared", "-Wl,-Bsymbolic", "-o", so, obj, *shims, "-lm"],
                              capture_output=True, text=True)
        if link.returncode != 0:
            raise CompileError(f"linking the compiled code failed: {link.stderr.strip()}")
        with open(so, "rb") as f:
            return f.read()
