"""Ahead-of-time compilation of an artifact's kernels for a CUDA GPU.

``triton.compile`` builds TTIR, TTGIR, PTX and a cubin for
``GPUTarget("cuda", arch, 32)`` on a machine without a GPU (the triton wheel
ships ``ptxas``).  The PTX ISA version is pinned (``ptx_version``, default
87) so the PTX also loads on a CUDA 13.0 driver.  Size symbols are ``i32``
arguments; block sizes chosen at launch are compiled at ``sizes.HINT``.
"""

from __future__ import annotations

import json
from typing import Dict

from fxc.backends.triton.sizes import HINT
from fxc.runtime.shapes import compile_expr

_PTR = {"float32": "*fp32", "float16": "*fp16", "bfloat16": "*bf16", "float64": "*fp64", "int8": "*i8",
        "int16": "*i16", "int32": "*i32", "int64": "*i64", "bool": "*i1"}


def compile_kernel(module, step: dict, buffers: list, arch: int, ptx_version: int):
    """The ``CompiledKernel`` of one launch step (``module``: kernels.py
    imported for the GPU)."""
    import triton
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource

    fn = getattr(module, step["kernel"])
    names = iter(fn.arg_names)
    signature = {n: _PTR[buffers[b]["dtype"]] for b, n in zip(step["args"] + step["outs"], names)}
    if "checks" in step:
        signature[next(names)] = "*i32"  # fxc_err
    signature.update({s: "i32" for s in step.get("symbols", ())})
    # Launch-time block sizes are compiled at the sizes block sizes were chosen for (sizes.HINT).
    meta = {k: v if isinstance(v, int) else compile_expr(v)[0]({s: HINT for s in compile_expr(v)[1]})
            for k, v in step["meta"].items()}
    signature.update({k: "constexpr" for k in meta})
    src = ASTSource(fn, signature, constexprs=meta)
    options = {"num_warps": step["num_warps"], "ptx_version": ptx_version}
    if "num_stages" in step:
        options["num_stages"] = step["num_stages"]
    return triton.compile(src, target=GPUTarget("cuda", arch, 32), options=options)


def compile_all(source: str, plan: dict, arch: int, ptx_version: int) -> Dict[str, bytes]:
    """``cuda/<kernel>.{ttir,ptx,cubin,json}`` for every launch of ``plan``."""
    from fxc.backends.triton.runtime import _import_kernels

    module = _import_kernels(source, interpret=False)
    files = {}
    for step in plan["steps"]:
        if step["kind"] != "launch" or f"cuda/{step['kernel']}.cubin" in files:
            continue
        k = compile_kernel(module, step, plan["buffers"], arch, ptx_version)
        base = f"cuda/{step['kernel']}"
        files[f"{base}.ttir"] = k.asm["ttir"].encode()
        files[f"{base}.ptx"] = k.asm["ptx"].encode()
        files[f"{base}.cubin"] = k.asm["cubin"]
        files[f"{base}.json"] = json.dumps({"arch": arch, "ptx_version": ptx_version,
                                            "shared": k.metadata.shared}).encode()
    return files
