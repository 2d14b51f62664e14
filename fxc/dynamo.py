"""``torch.compile(model, backend="fxc")``.

Registered through the ``torch_dynamo_backends`` entry point.  Dynamo hands
fxc's backend an FX graph; ``aot_autograd`` functionalizes it (effects become
``with_effects`` with tokens, mutating custom ops ``auto_functionalized_v2``,
input mutations extra outputs that aot_autograd's runtime wrapper copies
back), splits forward and backward, and fxc compiles each ATen graph it is
given with the CPU backend.  Both compiled functions take their arguments
boxed (one list, released as soon as the call has them), as aot_autograd
prefers.

A graph fxc cannot compile (e.g. an op with no lowering) runs eagerly
instead, and the reason is logged once per reason: torch.compile is a
best-effort path, unlike ``fxc.compile``, which raises.  ``compiled_graphs``
counts what happened to each kind of graph, e.g. ``{"forward": 1,
"backward": 1}`` or ``{"forward eager": 1}``.
"""

from __future__ import annotations

import collections
import logging

import torch
from torch._dynamo.backends.common import aot_autograd
from torch._functorch.aot_autograd import make_boxed_func

from fxc.api import compile_program
from fxc.errors import CompileError
from fxc.frontend.capture import capture_graph

log = logging.getLogger("fxc.dynamo")
_reported: set = set()

#: How many graphs of each kind fxc compiled ("forward", "backward") or left
#: to run eagerly ("forward eager", "backward eager") in this process.
compiled_graphs: collections.Counter = collections.Counter()


def _compiler(kind: str):
    def compile_graph(gm: torch.fx.GraphModule, example_inputs):
        try:
            compiled = compile_program(capture_graph(gm))
        except CompileError as e:
            compiled_graphs[f"{kind} eager"] += 1
            reason = (kind, e.location, e.message)  # not the notes: they name a fresh repro file
            if reason not in _reported:
                _reported.add(reason)
                log.warning("fxc: %s graph runs eagerly: %s", kind, e)
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


def _make_backend():
    return aot_autograd(fw_compiler=_compiler("forward"), bw_compiler=_compiler("backward"))


fxc_backend = _make_backend()
