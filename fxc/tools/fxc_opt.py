"""``fxc-opt``: parse IR with the torch and fxc dialects, run passes, print.

    fxc-opt [FILE] [--pass-pipeline='builtin.module(...)'] [--PASS ...]
            [--stage NAME ...] [--target cpu] [--split-input-file]
            [--mlir-print-debuginfo] [-o OUT]

``--PASS`` flags (``--fxc-lower-out-dtype``, ``--canonicalize``...) run in
the order given, after ``--pass-pipeline``; fxc passes and upstream or
torch-mlir passes mix freely.  ``--stage NAME`` runs the passes of that
stage of the pipeline table (``fxc stages`` lists them), so a module dumped
after one stage can be pushed through the next.  Every input is checked by
``fxc-verify`` after parsing.  A parse, verify or pass failure prints the
diagnostic and exits with status 1.
"""

from __future__ import annotations

import argparse
import sys

from torch_mlir import ir

from fxc import _mlir_compat
from fxc.errors import CompileError, from_mlir_error
from fxc.compiler.backend import get_backend, targets
from fxc.compiler.passes import python_passes
from fxc.transforms.stages import pipeline_of

SPLIT_MARKER = "// -----"


def _stage_passes(names, target):
    backend = get_backend(target)
    table = {s.name: s for s in pipeline_of(backend, backend.Options())}
    elements = []
    for n in names:
        if n not in table:
            raise CompileError(f"unknown stage '{n}'; stages with passes: {', '.join(table)}")
        elements += list(table[n].passes)
    return elements


def _register_all_passes() -> None:
    """Loads every backend, so any registered pass can be named."""
    for target in targets():
        try:
            get_backend(target)
        except ModuleNotFoundError:
            # A stale installed entry point (another checkout's backend):
            # its passes cannot be named here, the others still can.
            continue


def process(text: str, elements, filename: str, debuginfo: bool) -> tuple:
    """Returns ``(output, error)`` for one input buffer."""
    ctx = _mlir_compat.new_context()
    try:
        try:
            module = _mlir_compat.parse_module(text, ctx)
        except ir.MLIRError as e:
            raise from_mlir_error(e) from None
        passes = ["fxc-verify", *elements]
        pm = _mlir_compat.build_pass_manager(ctx, passes, python_passes())
        try:
            _mlir_compat.run_pass_manager(pm, module)
        except ir.MLIRError as e:
            raise from_mlir_error(e) from None
    except CompileError as e:
        return None, str(e.in_file(filename))
    except ValueError as e:  # a pipeline that does not parse
        return None, f"error: {e}"
    except Exception as e:  # a pass's own bug: a diagnostic, never a traceback
        return None, f"{filename}: error: internal error ({type(e).__name__}): {e}"
    return _mlir_compat.module_asm(module, debug_info=debuginfo), None


def _split_args(argv):
    """Separates ``--PASS`` flags (kept in order) from fxc-opt's own options."""
    own = {"--pass-pipeline", "--stage", "--target", "--split-input-file", "--mlir-print-debuginfo", "-o", "--output", "-h", "--help"}
    rest, passes = [], []
    it = iter(argv)
    for a in it:
        key = a.split("=", 1)[0]
        if key in own or not a.startswith("--"):
            rest.append(a)
            if key in ("--pass-pipeline", "--stage", "--target", "-o", "--output") and "=" not in a:
                rest.append(next(it, ""))
        else:
            passes.append(a[2:])
    return rest, passes


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    own, pass_flags = _split_args(argv)
    _register_all_passes()
    p = argparse.ArgumentParser(prog="fxc-opt", description=__doc__.split("\n\n")[0])
    p.add_argument("input", nargs="?", default="-")
    p.add_argument("--pass-pipeline", default=None)
    p.add_argument("--stage", action="append", default=[])
    p.add_argument("--target", default="cpu")
    p.add_argument("--split-input-file", action="store_true")
    p.add_argument("--mlir-print-debuginfo", action="store_true")
    p.add_argument("-o", "--output", default="-")
    ns = p.parse_args(own)

    source = sys.stdin.read() if ns.input == "-" else open(ns.input).read()
    filename = "<stdin>" if ns.input == "-" else ns.input
    try:
        elements = []
        if ns.pass_pipeline:
            elements += _mlir_compat.split_pipeline(ns.pass_pipeline)
        elements += _stage_passes(ns.stage, ns.target)
        elements += pass_flags
    except CompileError as e:
        print(e, file=sys.stderr)
        return 1

    chunks = source.split(SPLIT_MARKER + "\n") if ns.split_input_file else [source]
    outputs, failed, line = [], False, 0
    for chunk in chunks:
        padded = "\n" * line + chunk  # keep line numbers of the whole file
        line += chunk.count("\n") + (1 if ns.split_input_file else 0)
        out, err = process(padded, elements, filename, ns.mlir_print_debuginfo)
        if err:
            print(err, file=sys.stderr)
            failed = True
        else:
            outputs.append(out)
    text = f"\n{SPLIT_MARKER}\n".join(outputs)
    if ns.output == "-":
        sys.stdout.write(text)
    else:
        open(ns.output, "w").write(text)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
