"""``torch.compile(model, backend="fxc", options={...})``.

Registered through the ``torch_dynamo_backends`` entry point.  Dynamo hands
fxc's backend an FX graph; ``aot_autograd`` functionalizes it (effects become
``with_effects`` with tokens, mutating custom ops ``auto_functionalized_v2``,
input mutations extra outputs that aot_autograd's runtime wrapper copies
back), lifts parameters to graph inputs (so the compiled code always reads
the module's current weights), splits forward and backward, and fxc compiles
each ATen graph it is given.  Both compiled functions take their arguments
boxed (one list, released as soon as the call has them), as aot_autograd
prefers.

``options`` (all optional):

| key        | meaning                                                          |
|------------|------------------------------------------------------------------|
| ``target`` | the fxc target (default ``"cpu"``)                                |
| ``fallback`` | ``"eager"`` (default): a graph fxc cannot compile runs eagerly, and a :class:`FallbackWarning` naming the reason is issued for every such graph; ``"error"``: the :class:`~fxc.errors.CompileError` is raised |
| any field of the target's ``Options`` | e.g. ``opt_level``, ``openmp`` |

``compiled_graphs`` counts what happened to each kind of graph, e.g.
``{"forward": 1, "backward": 1}`` or ``{"forward eager": 1}``.
"""

from __future__ import annotations

import collections
import warnings
from typing import Optional

import torch
from torch._dynamo.backends.common import aot_autograd
from torch._functorch.aot_autograd import make_boxed_func

from fxc.api import compile_program
from fxc.compiler import timing
from fxc.compiler.backend import get_backend, make_options
from fxc.errors import CompileError
from fxc.frontend.capture import capture_graph


class FallbackWarning(UserWarning):
    """A graph given to ``torch.compile(backend="fxc")`` runs eagerly."""


# One warning per graph that falls back, not one per process.
warnings.filterwarnings("always", category=FallbackWarning)

#: How many graphs of each kind fxc compiled ("forward", "backward") or left
#: to run eagerly ("forward eager", "backward eager") in this process.
compiled_graphs: collections.Counter = collections.Counter()

FALLBACKS = ("eager", "error")


def _parse(options: Optional[dict]):
    """``(target, backend Options, fallback)`` from torch.compile's options."""
    options = dict(options or {})
    target = options.pop("target", "cpu")
    fallback = options.pop("fallback", "eager")
    if fallback not in FALLBACKS:
        raise ValueError(f"fxc: options['fallback'] must be one of {FALLBACKS}, got {fallback!r}")
    return target, make_options(get_backend(target), options, also_known=("target", "fallback")), fallback


def _compiler(kind: str, target: str, backend_options, fallback: str):
    def compile_graph(gm: torch.fx.GraphModule, example_inputs):
        try:
            with timing.compilation(f"compile ({kind} graph)"):
                with timing.phase("capture (graph metadata)"):
                    program = capture_graph(gm)
                compiled = compile_program(program, target=target, options=backend_options)
        except Exception as e:  # noqa: BLE001  (every failure is a CompileError or a warned fallback)
            err = e if isinstance(e, CompileError) else CompileError(f"internal error ({type(e).__name__}): {e}")
            if fallback == "error":
                raise err from (None if err is e else e)
            compiled_graphs[f"{kind} eager"] += 1
            warnings.warn(f"fxc: a {kind} graph runs eagerly: {err}", FallbackWarning, stacklevel=2)
            return make_boxed_func(gm.forward)

        def run(args: list):
            flat = list(args)
            args.clear()  # boxed convention: the caller's references go
            return compiled.call_flat(flat)

        run._boxed_call = True
        run._fxc_compiled = compiled  # for tests and debugging
        compiled_graphs[kind] += 1
        return run

    return compile_graph


def fxc_backend(gm: torch.fx.GraphModule, example_inputs, options: Optional[dict] = None):
    """The ``torch.compile`` backend (see the module docstring for ``options``)."""
    target, backend_options, fallback = _parse(options)
    return aot_autograd(
        fw_compiler=_compiler("forward", target, backend_options, fallback),
        bw_compiler=_compiler("backward", target, backend_options, fallback),
    )(gm, example_inputs)
