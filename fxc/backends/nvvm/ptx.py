"""Device code to PTX and cubins with the LLVM and ``ptxas`` of the Triton wheel.

The torch-mlir wheel's LLVM has no NVPTX target (``gpu-module-to-binary``
fails with "no targets are registered"), so each ``gpu.module`` leaves MLIR
here.  Triton's bundled LLVM (``triton._C.libtriton``) has NVPTX and
libdevice: its MLIR parses the module's LLVM-dialect functions (printed by
our bindings; the LLVM and NVVM dialects' syntax is what both builds share),
translates them to an LLVM module, links ``libdevice.10.bc`` when a math
function (``__nv_*``) is called, optimizes at O3 and emits PTX, as
``triton/backends/nvidia/compiler.py`` does (``make_llir``/``make_ptx``).
Parsing into Triton's context rather than translating with
``torch_mlir.dialects.llvm.translate_module_to_llvmir`` is what makes
linking libdevice possible: Triton's LLVM API links only into a module it
built, and cannot parse LLVM IR text.

PTX ISA 8.7 by default: ``ptxas`` of the wheel is CUDA 12.9 (ISA <= 8.8)
and the GPU machine's driver is CUDA 13.0, which loads 8.7.

This is the one module that touches Triton's LLVM API (it moves between
Triton releases).
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
import tempfile
from typing import Optional

from fxc.errors import CompileError

TRIPLE = "nvptx64-nvidia-cuda"
_FLAGS = ["nvptx-mad-wide-opt"]


def _nvidia_dir() -> str:
    import triton

    return os.path.join(os.path.dirname(triton.__file__), "backends", "nvidia")


@functools.lru_cache(maxsize=None)
def unavailable() -> Optional[str]:
    """Why PTX or cubins cannot be made here, or None when they can."""
    try:
        from triton._C.libtriton import ir, llvm, nvidia  # noqa: F401
    except Exception as e:  # noqa: BLE001  (any import failure means "no triton LLVM")
        return f"triton's bundled LLVM is not importable ({e})"
    if not os.access(ptxas_path(), os.X_OK):
        return f"no ptxas at {ptxas_path()}"
    return None


def ptxas_path() -> str:
    return os.path.join(_nvidia_dir(), "bin", "ptxas")


def _require():
    why = unavailable()
    if why:
        raise CompileError(f"fxc's NVVM backend needs the triton wheel to emit PTX: {why}")


def to_ptx(llvm_dialect_module: str, chip: str, ptx_version: int) -> str:
    """PTX of a ``builtin.module`` of LLVM-dialect (NVVM) functions."""
    _require()
    from triton._C.libtriton import ir, llvm, nvidia

    features = f"+ptx{ptx_version}"
    context = ir.context()
    ir.load_dialects(context)
    nvidia.load_dialects(context)
    llvm.init_targets()
    with tempfile.NamedTemporaryFile("w", suffix=".mlir", delete=False) as f:
        f.write(llvm_dialect_module)
    try:
        module = ir.parse_mlir_module(f.name, context)
    except RuntimeError as e:
        raise CompileError(f"triton's MLIR could not parse the device module: {e}") from None
    finally:
        os.unlink(f.name)
    llvm_context = llvm.context()
    llvm_module = llvm.to_module(module, llvm_context)
    llvm.attach_datalayout(llvm_module, TRIPLE, chip, features, _FLAGS)
    if nvidia.has_extern_deps(llvm_module):
        llvm.link_extern_libs(llvm_module, [os.path.join(_nvidia_dir(), "lib", "libdevice.10.bc")])
    llvm.optimize_module(llvm_module, llvm.OPTIMIZE_O3, flags=_FLAGS)
    ptx = llvm.translate_to_asm(str(llvm_module), TRIPLE, chip, features, _FLAGS, True, False, False)
    return re.sub(r"\.version \d+\.\d+", f".version {ptx_version // 10}.{ptx_version % 10}", ptx, count=1)


def to_cubin(ptx: str, chip: str, name: str = "kernel") -> bytes:
    """``ptxas``'s cubin of ``ptx`` for ``chip``; a CompileError with its log if it refuses."""
    _require()
    with tempfile.TemporaryDirectory(prefix="fxc-ptxas-") as d:
        src, out = os.path.join(d, f"{name}.ptx"), os.path.join(d, f"{name}.cubin")
        with open(src, "w") as f:
            f.write(ptx)
        r = subprocess.run([ptxas_path(), f"--gpu-name={chip}", "-O3", src, "-o", out],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise CompileError(f"ptxas rejected the PTX of '{name}':\n{r.stderr.strip()}")
        with open(out, "rb") as f:
            return f.read()


@functools.lru_cache(maxsize=None)
def ptxas_version() -> str:
    _require()
    r = subprocess.run([ptxas_path(), "--version"], capture_output=True, text=True)
    m = re.search(r"release (\S+),", r.stdout)
    return m.group(1) if m else r.stdout.strip().splitlines()[-1]
