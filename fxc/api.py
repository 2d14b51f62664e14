"""fxc's public Python API: ``export``, ``compile``, ``load``, ``stages``."""

from __future__ import annotations

import contextlib
import functools
import gc
import hashlib
import os
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any, Dict, Optional, Sequence

import torch

from fxc import _mlir_compat, config
from fxc.compiler.abi import check_entry
from fxc.compiler import timing as _timing
from fxc.compiler.backend import get_backend, make_options, options_dict
from fxc.compiler.driver import run_stage
from fxc.compiler.stage import IMPORT
from fxc.errors import CompileError
from fxc.frontend import autocast as autocast_regions
from fxc.frontend.capture import (
    Program,
    capture,
    capture_graph,
    has_bare_effects,
    has_symbolic_shapes,
    import_program,
    traced_size_inputs,
)
from fxc.runtime import cache
from fxc.runtime.artifact import FORMAT, Artifact
from fxc.runtime.program import LoadedProgram, load
from fxc.transforms.stages import pipeline_of, stage_names

config.check_torch()  # the compiler needs the torch it is built against

#: The stage after which the entry's types are checked against the signature
#: (builtin tensor types, before any backend changes the calling convention).
ABI_STAGE = "linalg"

__all__ = ["compile", "export", "load", "stages", "timing", "CompiledModule", "ExportOutput", "CompileError"]


def timing():
    """Collects where the time of the compilations run inside goes.

    A context manager yielding a :class:`fxc.compiler.timing.Timing`: its
    ``report()`` lists capture (``torch.export``), import, each stage and
    each pass within it, LLVM code generation and linking, in seconds and
    shares of the total.  ``FXC_TIMING=1`` prints that report (to stderr)
    after every compilation; ``fxc compile --timing`` after its own.

    Example::

        with fxc.timing() as t:
            fxc.compile(model, (x,))
        print(t.report())
    """
    return _timing.collect()


def stages(target: str = "cpu") -> list:
    """Names of the stages for ``target``, in order."""
    backend = get_backend(target)
    return stage_names(backend, backend.Options())


class ExportOutput:
    """A program imported into MLIR (the ``torch`` stage).

    Attributes:
        program: the captured program and its signature.
        mlir: the module's text (with locations; constants in full).
    """

    def __init__(self, program: Program, mlir: str):
        self.program = program
        self.mlir = mlir

    def save(self, path) -> None:
        Path(path).write_text(self.mlir)


def export(model, example_args: Sequence = (), example_kwargs: Optional[dict] = None, *,
           freeze: bool = False, dynamic_shapes: Any = None,
           autocast: Optional[torch.dtype] = None) -> ExportOutput:
    """Captures ``model`` with torch.export and imports it into MLIR.

    Args:
        model: an ``nn.Module``, a function, or an ``ExportedProgram``.
        example_args: positional example inputs.
        example_kwargs: keyword example inputs.
        freeze: parameters and buffers become constants (see :func:`compile`).
        dynamic_shapes: symbolic sizes (see :func:`compile`); they appear as
            ``torch.symbolic_int`` / ``torch.bind_symbolic_shape``.
        autocast: see :func:`compile`.

    Returns:
        An :class:`ExportOutput` holding the ``torch``-stage module.
    """
    with autocast_regions.no_ambient():
        program = capture(model, example_args, example_kwargs, freeze=freeze, dynamic_shapes=dynamic_shapes,
                          autocast=autocast_regions.check_dtype(autocast))
    module = import_program(program, _mlir_compat.new_context())
    return ExportOutput(program, _mlir_compat.module_asm(module, debug_info=True))


class CompiledModule(LoadedProgram):
    """A compiled program: call it like the original model.

    Parameters and buffers are read from the model at every call unless the
    program was compiled with ``freeze=True``.

    Attributes:
        program: the captured program (signature, state, what was imported).
        target: the target it was compiled for.
        from_cache: the code came from the compile cache (no stage ran).
    """

    def __init__(self, program: Program, target: str, options, artifact: Optional[Artifact],
                 modules: Optional[Dict[str, Any]] = None, from_cache: bool = False):
        self.program = program
        self.target = target
        self.options = options
        self.from_cache = from_cache
        self._ir: Dict[str, Any] = dict(modules or {})  # stage -> ir.Module
        self._stopped = list(self._ir)[-1] if artifact is None else None  # the stop_after stage
        if artifact is not None:
            super().__init__(artifact, program.state, program.objects)
        else:  # stopped early: nothing to run
            self.artifact, self.signature, self._plain, self._pack = None, program.signature, True, tuple
            self._exe = functools.partial(_not_runnable, self._stopped)

    #: Recompiles the model with ``autocast=dtype`` (set by :func:`compile`
    #: for a program compiled without autocast); None: ambient autocast
    #: does not change this program (its forward sets its own).
    _variant_of = None

    def __call__(self, *args, **kwargs):
        """Runs the program (see ``LoadedProgram.__call__``).  Inside an
        active CPU ``torch.autocast``, a program compiled without
        ``autocast=`` runs as eager would: a variant compiled for that
        autocast state, compiled on first use and kept."""
        if _any_autocast() and self._variant_of is not None:
            dtype = autocast_regions.ambient_dtype()
            if dtype is not None:
                return self._variant(dtype)(*args, **kwargs)
        if self._plain and not kwargs:  # LoadedProgram's fast path, without a second frame
            return self._pack(self._exe(*args))
        return LoadedProgram.__call__(self, *args, **kwargs)

    def _variant(self, dtype: torch.dtype) -> "CompiledModule":
        variants = self.__dict__.setdefault("_variants", {})
        if dtype not in variants:
            variants[dtype] = self._variant_of(autocast=dtype)
        return variants[dtype]

    @property
    def mlir(self) -> str:
        """The IR of the last stage (the one compiled to, or ``stop_after``)."""
        return self.ir(self._stopped or stages(self.target)[-1])

    def ir(self, stage: str, *, elide: bool = True) -> str:
        """The module as it is after ``stage`` (see :func:`stages`).

        Args:
            stage: a stage name.
            elide: elide large constants (for reading; such text does not
                parse back).  ``elide=False`` gives text ``fxc-opt`` reads.

        IR is not kept while compiling: asking for a stage other than the
        ``stop_after`` one runs the pipeline again up to it (once)."""
        if stage not in self._ir:
            names = stage_names(get_backend(self.target), self.options)
            if stage not in names:
                raise KeyError(f"no stage '{stage}'; stages are {', '.join(names)}")
            if self._stopped and names.index(stage) > names.index(self._stopped):
                raise KeyError(f"compilation stopped after stage '{self._stopped}'; no IR for '{stage}'")
            self._ir[stage] = _lower(self.program, self.target, self.options, stop_after=stage)
        return _mlir_compat.module_asm(self._ir[stage], elide=elide)

    def save(self, path) -> None:
        """Writes the compiled program as one artifact file; :func:`fxc.load` reads it."""
        if self._stopped:
            raise RuntimeError(f"compilation stopped after stage '{self._stopped}'; nothing to save")
        super().save(path)


_any_autocast = torch._C._is_any_autocast_enabled


def _not_runnable(stage: str, *args):
    raise RuntimeError(f"compilation stopped after stage '{stage}'; nothing to run")


def compile(
    model,
    example_args: Sequence = (),
    example_kwargs: Optional[dict] = None,
    *,
    target: str = "cpu",
    options: Any = None,
    freeze: bool = False,
    dynamic_shapes: Any = None,
    stop_after: Optional[str] = None,
    autocast: Optional[torch.dtype] = None,
) -> CompiledModule:
    """Compiles a PyTorch program with fxc.

    Args:
        model: an ``nn.Module`` (including a ``GraphModule``), a function, or
            an ``ExportedProgram``.  A ``GraphModule`` with symbolic shapes
            (``make_fx(..., tracing_mode="symbolic")``) is specialized to the
            shapes of ``example_args`` (default: the sizes it was traced at).
        example_args: positional example inputs (their shapes and dtypes are
            the ones the compiled program accepts).
        example_kwargs: keyword example inputs.
        target: a backend target, e.g. ``"cpu"``.
        options: the backend's ``Options``, or a dict of its fields (default:
            its defaults); an unknown field is a ``ValueError``.
        freeze: bake the parameters and buffers the program does not mutate
            into the code as constants (which lets the compiler fold and pack
            them).  A frozen program ignores later changes to the model's
            weights, by design; by default they are read at every call.
        dynamic_shapes: which input sizes are symbolic, as
            ``torch.export.export`` takes them (``Dim("batch", min=1)``,
            derived dims like ``2 * d``, ``Dim.AUTO``, ``Dim.DYNAMIC``).  One
            compile then runs every size in range; a call outside a symbol's
            range or breaking a relation raises ``ValueError`` naming the
            input, dimension, symbol and constraint.  An ``ExportedProgram``
            keeps the dynamic shapes it was exported with.
        stop_after: a stage name (see :func:`stages`); compile no further.
        autocast: ``torch.bfloat16`` or ``torch.float16``: compile the
            program as if its whole forward ran inside
            ``torch.autocast("cpu", autocast)``.  Without it, a call made
            inside an active ``torch.autocast`` runs a variant compiled for
            that state (compiled on first use, then kept).

    Returns:
        A :class:`CompiledModule`.  The compiled code is cached on disk
        (``fxc.runtime.cache``): compiling the same program again, in any
        process, loads it instead of running the pipeline.

    Raises:
        CompileError: the program cannot be compiled; the message points at
            the user's source line.
    """
    with _timing.compilation(), _collector_paused():
        return _compile(model, example_args, example_kwargs, target=target, options=options, freeze=freeze,
                        dynamic_shapes=dynamic_shapes, stop_after=stop_after, autocast=autocast)


@contextlib.contextmanager
def _collector_paused():
    """Python's cycle collector off while compiling (unless the user turned
    it off already).  Export and the MLIR bindings allocate many short-lived
    objects, and collections triggered by them took a fifth of a small
    model's compile time; what a compile leaves is collected later as usual."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _compile(model, example_args, example_kwargs, *, target, options, freeze, dynamic_shapes, stop_after, autocast):
    autocast = autocast_regions.check_dtype(autocast)
    with autocast_regions.no_ambient(), _timing.phase("capture (torch.export)"):
        if isinstance(model, torch.fx.GraphModule) and has_symbolic_shapes(model):
            # A symbolic make_fx graph is re-exported at the example inputs' shapes.
            program = capture(model, example_args or traced_size_inputs(model), example_kwargs, freeze=freeze,
                              dynamic_shapes=dynamic_shapes, autocast=autocast)
        elif (isinstance(model, torch.fx.GraphModule) and _has_metadata(model) and autocast is None
              and dynamic_shapes is None):
            program = capture_graph(model)
        else:
            program = capture(model, example_args, example_kwargs, freeze=freeze, dynamic_shapes=dynamic_shapes,
                              autocast=autocast)
    compiled = compile_program(program, target=target, stop_after=stop_after, options=options)
    if autocast is None:  # see CompiledModule.__call__
        compiled._variant_of = functools.partial(compile, model, example_args, example_kwargs, target=target,
                                                 options=options, freeze=freeze, dynamic_shapes=dynamic_shapes,
                                                 stop_after=stop_after)
    return compiled


def _has_metadata(gm: torch.fx.GraphModule) -> bool:
    """Whether ``gm`` can be compiled as it is: it has metadata and its
    effects are already functionalized (a ``make_fx`` graph calls
    ``aten._print`` bare; torch.export gives it tokens)."""
    return all("val" in n.meta for n in gm.graph.nodes if n.op == "placeholder") and not has_bare_effects(gm)


def compile_program(program: Program, *, target: str = "cpu", stop_after: Optional[str] = None,
                    options: Any = None) -> CompiledModule:
    """Compiles a captured :class:`Program` (see :func:`compile`)."""
    with _collector_paused():
        return _compile_program(program, target=target, stop_after=stop_after, options=options)


def _compile_program(program: Program, *, target: str, stop_after: Optional[str], options: Any) -> CompiledModule:
    backend = get_backend(target)
    options = make_options(backend, options)
    names = stage_names(backend, options)
    if stop_after is not None and stop_after not in names:
        raise CompileError(f"unknown stage '{stop_after}'; stages are {', '.join(names)}")
    if stop_after is not None and stop_after != names[-1]:
        module = _lower(program, target, options, stop_after=stop_after)
        return CompiledModule(program, target, options, None, {stop_after: module})
    with _timing.phase("import (FX importer)"):
        module = import_program(program, _mlir_compat.new_context())
    with _timing.phase("compile cache lookup"):
        key = _cache_key(module, program, backend, options) if config.cache_dir() else None
        artifact = cache.lookup(key) if key else None
    if artifact is not None:
        _timing.note("loaded from the compile cache: no stage ran (FXC_CACHE=0 to time them)")
        with _timing.phase("load (the compiled program)"):
            return CompiledModule(program, target, options, artifact, from_cache=True)
    _run_stages(module, pipeline_of(backend, options), len(names) - 1, program.signature)
    with _timing.phase(f"build ({target})"):
        artifact = backend.build(module, program.signature, options)
    artifact.manifest.update(_manifest(program))
    if key:
        with _timing.phase("compile cache store"):
            cache.store(key, artifact)
    with _timing.phase("load (the compiled program)"):
        return CompiledModule(program, target, options, artifact)


def _lower(program: Program, target: str, options, *, stop_after: str):
    """The module after ``stop_after``, freshly imported and lowered."""
    backend = get_backend(target)
    with _timing.phase("import (FX importer)"):
        module = import_program(program, _mlir_compat.new_context())
    stage_list = pipeline_of(backend, options)
    upto = [IMPORT.name, *[s.name for s in stage_list]].index(stop_after)
    _run_stages(module, stage_list, upto)
    return module


def _run_stages(module, stage_list, count: int, signature=None) -> None:
    """Runs the first ``count`` stages, dumping each (``FXC_DUMP_DIR``); with
    ``signature``, checks the entry's types against it after ``linalg``."""
    dump = _new_dump_dir()
    if dump:
        (dump / f"{IMPORT.name}.mlir").write_text(_mlir_compat.module_asm(module, debug_info=True))
    for stage in stage_list[:count]:
        run_stage(module, stage)
        if dump:
            (dump / f"{stage.name}.mlir").write_text(_mlir_compat.module_asm(module, debug_info=True))
        if signature is not None and stage.name == ABI_STAGE:
            check_entry(module, signature)


def _new_dump_dir() -> Optional[Path]:
    """A fresh folder under ``FXC_DUMP_DIR`` for one compilation (unique
    across threads and processes), or None."""
    root = config.dump_dir()
    if not root:
        return None
    os.makedirs(root, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"{os.getpid()}-", dir=root))


def _manifest(program: Program) -> dict:
    """The target-independent part of an artifact's manifest."""
    return {
        "format": FORMAT,
        "fxc_version": _version("fxc"),
        "torch_version": torch.__version__,
        "signature": program.signature.to_json(),
        "frozen": program.frozen,
        "objects": sorted(program.objects),
    }


def _cache_key(module, program: Program, backend, options) -> str:
    return cache.key_of([
        FORMAT, _version("fxc"), _source_digest(), torch.__version__, _version("torch-mlir"),
        type(backend).__name__, repr(sorted(options_dict(options).items())),
        ",".join(backend.host_features(options)),
        repr(program.signature.to_json()), program.frozen, sorted(program.objects),
        _mlir_compat.module_asm(module, debug_info=True),
    ])


@functools.lru_cache(maxsize=None)
def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "unknown"


@functools.lru_cache(maxsize=None)
def _source_digest() -> str:
    """A digest of fxc's own sources: a changed compiler never reuses the
    cache entries of the old one, whatever its version says."""
    root = Path(__file__).parent
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.suffix in (".py", ".mlir") and "__pycache__" not in p.parts:
            h.update(str(p.relative_to(root)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()
