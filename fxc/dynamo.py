"""``torch.compile(model, backend="fxc")``.

Registered through the ``torch_dynamo_backends`` entry point.  Dynamo hands
fxc's backend an FX graph; ``aot_autograd`` functionalizes it (effects become
``with_effects`` with tokens), splits forward and backward, and fxc compiles
each ATen graph it is given with the CPU backend.

A graph fxc cannot compile (e.g. an op with no lowering) runs eagerly
instead, and the reason is logged once per reason: torch.compile is a
best-effort path, unlike ``fxc.compile``, which raises.
"""

from __future__ import annotations

import logging

import torch
from torch._dynamo.backends.common import aot_autograd

from fxc.api import compile_program
from fxc.errors import CompileError
from fxc.frontend.capture import capture_graph

log = logging.getLogger("fxc.dynamo")
_reported: set = set()


def _compiler(kind: str):
    def compile_graph(gm: torch.fx.GraphModule, example_inputs):
        try:
            compiled = compile_program(capture_graph(gm))
        except CompileError as e:
            reason = f"{kind} graph runs eagerly: {e.message}"
            if reason not in _reported:
                _reported.add(reason)
                log.warning("fxc: %s", reason)
            return gm.forward

        def run(*args):
            return compiled.call_flat(args)

        run._fxc_compiled = compiled  # for tests and debugging
        return run

    return compile_graph


def _make_backend():
    return aot_autograd(fw_compiler=_compiler("forward"), bw_compiler=_compiler("backward"))


fxc_backend = _make_backend()
