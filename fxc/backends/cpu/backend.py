"""The CPU backend's compiler side: its stages, options and artifacts.

It bufferizes, lowers to the LLVM dialect, compiles that for the host CPU
and links a shared object (``build.py``); ``runtime.py`` runs it.
"""

from __future__ import annotations

import dataclasses

import fxc.backends.cpu.passes  # noqa: F401  (registers the passes named below)
from fxc.backends.cpu import build, openmp
from fxc.backends.cpu.passes.lower_bf16_matmul import KERNELS as BF16_KERNELS
from fxc.backends.cpu.passes.lower_int8_matmul import KERNELS as INT8_KERNELS
from fxc.compiler.backend import Backend, options_dict
from fxc.compiler.stage import Stage
from fxc.runtime import host_cpu
from fxc.runtime.artifact import Artifact


def _host_int8_kernel() -> str:
    """The best int8 micro-kernel the host can run: the first of
    :data:`INT8_KERNELS` (best first) whose features it has."""
    return next(name for name, k in INT8_KERNELS.items() if host_cpu.has(*k.features))


def _host_bf16_kernel() -> str:
    """The bf16 micro-kernel the host can run, or ``"off"``."""
    return next((name for name, k in BF16_KERNELS.items() if host_cpu.has(*k.features)), "off")


def _host_vector_bits() -> int:
    if host_cpu.has("avx512f"):
        return 512
    if host_cpu.has("avx2", "fma"):
        return 256
    return 128


def _have_openmp() -> bool:
    return openmp.runtime_library() is not None


def _vectorize(options) -> tuple:
    """Tiles and vectorizes linalg ops; their outer tiles (``scf.forall``)
    run on OpenMP threads when ``options.openmp``."""
    parallel = "true" if options.openmp else "false"
    return (
        "fxc-decompose-conv-to-matmuls",
        # A Linear's transposed weight a panel at a time, in the cache.
        f"fxc-pack-transposed-rhs{{parallel={parallel}}}",
        # Attention's scores stay in the cache: one loop over blocks of query rows.
        f"fxc-fuse-attention{{parallel={parallel}}}",
        f"fxc-fuse-rows{{parallel={parallel}}}",
        f"fxc-convert-linalg-to-vector{{vector-bits={options.vector_bits} parallel={parallel}}}",
        # Horizontal reductions as vector.reduction (a shuffle tree, reassociated:
        # convert-vector-to-llvm below), not a chain of one add per lane.
        "func.func(lower-vector-multi-reduction{lowering-strategy=inner-reduction})",
        "convert-vector-to-scf",
        *(("scf-forall-to-parallel",) if options.openmp else ()),
        "canonicalize",
    )


class CpuBackend(Backend):
    targets = ("cpu",)

    @dataclasses.dataclass(frozen=True)
    class Options:
        """Options of the CPU backend.

        Attributes:
            opt_level: LLVM optimisation level used by the JIT (0-3).  2,
                not 3: the code is vectorized before LLVM sees it, O3 ran
                no faster (gemm, softmax, MLP, encoder, GPT-2) and took 0.4 s
                more of a small GPT-2's compile.
            int8_microkernel: the micro-kernel that int8 x int8 -> int32
                matmuls become (fxc-lower-int8-matmul): ``"vnni"`` (AVX-512
                VNNI), ``"avx2"``, ``"portable"`` (plain vector ops), or
                ``"off"`` (the generic loops); default: the best the host
                has.  Its features join the artifact's required ones.
            bf16_microkernel: the micro-kernel that bf16 x bf16 -> f32
                matmuls (autocast's) become (fxc-lower-bf16-matmul):
                ``"avx512bf16"`` (``vdpbf16ps``) or ``"off"`` (vectorized
                in f32 like other float matmuls); default: ``"avx512bf16"``
                where the host has AVX512_BF16.  Its features join the
                artifact's required ones.
            openmp: run ``scf.parallel`` loops on PyTorch's OpenMP threads
                (libgomp; see fxc.backends.cpu.openmp); default: PyTorch
                has OpenMP.
            vector_bits: SIMD width that fxc-convert-linalg-to-vector tiles
                and vectorizes float matmuls and elementwise/reduction ops for
                (512: AVX-512, 256: AVX2); 0 keeps the scalar loops of
                convert-linalg-to-loops; default: from the host's features.
            vector_math: f32 ``exp``, ``log``, ``tanh`` and ``erf`` become
                polynomial approximations (fxc-math-polynomial-approximation,
                a few ulp) that vectorize, instead of one libm call per element.
        """

        opt_level: int = 2
        int8_microkernel: str = dataclasses.field(default_factory=_host_int8_kernel)
        bf16_microkernel: str = dataclasses.field(default_factory=_host_bf16_kernel)
        openmp: bool = dataclasses.field(default_factory=_have_openmp)
        vector_bits: int = dataclasses.field(default_factory=_host_vector_bits)
        vector_math: bool = True

        def __post_init__(self):
            if self.int8_microkernel not in (*INT8_KERNELS, "off"):
                raise ValueError(f"int8_microkernel={self.int8_microkernel!r}; expected one of "
                                 f"{', '.join(repr(k) for k in (*INT8_KERNELS, 'off'))}")
            if self.bf16_microkernel not in (*BF16_KERNELS, "off"):
                raise ValueError(f"bf16_microkernel={self.bf16_microkernel!r}; expected one of "
                                 f"{', '.join(repr(k) for k in (*BF16_KERNELS, 'off'))}")

    def stages(self, options):
        return (
            Stage(
                "bufferized",
                ("linalg", "tensor", "arith", "func"),
                (
                    # One loop nest per chain of elementwise ops (a matmul's
                    # dequantizing epilogue), not one memory pass per op.
                    "fxc-fuse-elementwise-ops",
                    "fxc-distinct-results",
                    "fxc-bufferize-host-calls",
                    # As torch-mlir's refbackend: what convert-torch-to-tmtensor
                    # made (sort, topk, cumsum, scatter, index_put, attention)
                    # has no one-shot-bufferize interface of its own.
                    "func.func(tm-tensor-bufferize)",
                    "fxc-isolate-tm-tensor-buffers",
                    "one-shot-bufferize{bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map}",
                    "fxc-results-to-out-params",
                    "buffer-deallocation-pipeline",
                    "canonicalize",
                ),
            ),
            Stage(
                "llvm",
                ("linalg", "memref", "arith", "func"),
                (
                    "fxc-emit-c-interface",
                    *((f"fxc-lower-int8-matmul{{kernel={options.int8_microkernel}}}",)
                      if options.int8_microkernel != "off" else ()),
                    *((f"fxc-lower-bf16-matmul{{kernel={options.bf16_microkernel}}}",)
                      if options.bf16_microkernel != "off" else ()),
                    # The clones the deallocation pipeline gives returned buffers.
                    "convert-bufferization-to-memref",
                    "fxc-convert-memref-copy-to-linalg",
                    # x ** 3 (GELU's tanh form) as multiplications, which vectorize.
                    "func.func(math-expand-ops{ops=fpowi})",
                    *(_vectorize(options) if options.vector_bits else ()),
                    "func.func(tm-tensor-to-loops)",
                    "func.func(convert-linalg-to-loops)",
                    "lower-affine",
                    # canonicalize inlines the memref.alloca_scope that scf-to-openmp
                    # wraps loop bodies in (scf-to-cf cannot split a region of it).
                    # Reducing parallel loops (from tm-tensor-to-loops) run
                    # sequentially, as the refbackend runs every loop.
                    *(("fxc-sequentialize-parallel-reductions", "convert-scf-to-openmp", "canonicalize")
                      if options.openmp else ()),
                    "convert-scf-to-cf",
                    "fxc-recoverable-checks",
                    "expand-strided-metadata",
                    "lower-affine",
                    "fxc-expand-f64-to-half",
                    # bf16 arithmetic in f32 (x86 without AVX512_BF16 has
                    # none, and LLVM would round each result through
                    # compiler-rt's __truncsfbf2, which the JIT lacks), and
                    # bf16 truncation as integer code.
                    "func.func(arith-emulate-unsupported-floats{source-types=bf16 target-type=f32})",
                    "func.func(arith-expand{include-bf16=true})",
                    # f32 exp/log/tanh/erf become polynomials (vectorized
                    # with their loops); other math ops with an LLVM
                    # intrinsic become it; the rest calls into the process's
                    # libm, as the refbackend's convert-math-to-libm does.
                    *(("fxc-math-polynomial-approximation",) if options.vector_math else ()),
                    "func.func(convert-math-to-llvm)",
                    "convert-math-to-libm",
                    "convert-vector-to-llvm{reassociate-fp-reductions=true}",
                    # memref.alloc/dealloc call fxc's buffer pool (build.BUFFER_POOL_SOURCE).
                    "finalize-memref-to-llvm{use-generic-functions=true}",
                    "convert-to-llvm",
                    "reconcile-unrealized-casts",
                    "fxc-indirect-host-calls",
                ),
            ),
        )

    def host_features(self, options):
        # The ExecutionEngine compiles for the host CPU model: its code may
        # use any extension the host has, and the int8 and bf16 kernels their own.
        kernels = (INT8_KERNELS.get(options.int8_microkernel), BF16_KERNELS.get(options.bf16_microkernel))
        return tuple(sorted(host_cpu.features().union(*(k.features for k in kernels if k))))

    def build(self, module, signature, options):
        data = build.shared_object(module, signature.entry, opt_level=options.opt_level, openmp=options.openmp)
        manifest = {
            "target": "cpu",
            "options": options_dict(options),
            "host": {"arch": host_cpu.arch(), "features": list(self.host_features(options))},
            "host_calls": build.host_call_specs(module),
            "results": build.result_convention(module, signature.entry),
            "checks": build.check_messages(module),
        }
        return Artifact(manifest, {build.SHARED_OBJECT: data})
