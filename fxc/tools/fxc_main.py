"""``fxc``: export, compile and run PyTorch programs from the command line.

    fxc export  [MODEL] [-o out.mlir]
    fxc compile [MODEL] [--target cpu] [--freeze] [--autocast bf16] [--emit STAGE] [-o PATH] [--timing]
    fxc run     [MODEL] [--target cpu] [--freeze] [--autocast bf16] [--artifact PATH]
    fxc stages  [--target cpu]

MODEL is ``path/to/file.py[:Name]`` (see ``fxc.tools.model_file``); with no
MODEL the bundled example is used.  Compile errors print as
``file.py:LINE: error: ...`` and exit with status 1.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import sys
from pathlib import Path

import torch
import torch.utils._pytree as pytree

from fxc.errors import CompileError
from fxc.runtime.artifact import ArtifactError
from fxc.tools.model_file import ModelFileError, load_model


def _write(text: str, output) -> None:
    if output in (None, "-"):
        sys.stdout.write(text)
    else:
        Path(output).write_text(text)


def cmd_export(ns) -> int:
    import fxc

    name, model, args, kwargs, dynamic = load_model(ns.model)
    out = fxc.export(model, args, kwargs, dynamic_shapes=dynamic)
    _write(out.mlir, ns.output)
    return 0


def cmd_compile(ns) -> int:
    import fxc

    name, model, args, kwargs, dynamic = load_model(ns.model)
    with fxc.timing() if ns.timing else contextlib.nullcontext() as t:
        compiled = fxc.compile(model, args, kwargs, target=ns.target, stop_after=ns.emit, freeze=ns.freeze,
                               dynamic_shapes=dynamic, autocast=ns.autocast)
    if t is not None:
        print(t.report(), file=sys.stderr)
    if ns.emit:
        # Constants in full where the text goes to a file (fxc-opt reads it back).
        _write(compiled.ir(ns.emit, elide=ns.output in (None, "-")), ns.output)
    else:
        path = Path(ns.output or f"{name}.fxc")
        compiled.save(path)
        kind = "frozen weights" if ns.freeze else "weights read from the model at each call"
        print(f"wrote {path} ({path.stat().st_size} bytes, {compiled.target}, {kind}); run it with "
              f"fxc.load('{path}'{'' if ns.freeze else ', model'}) or fxc run MODEL --artifact {path}")
    return 0


def _max_error(expected, actual) -> float:
    flat_e, spec_e = pytree.tree_flatten(expected)
    flat_a, spec_a = pytree.tree_flatten(actual)
    if spec_e != spec_a:
        raise SystemExit(f"fxc run: output structure differs from eager: {spec_a} vs {spec_e}")
    worst = 0.0
    for e, a in zip(flat_e, flat_a):
        if isinstance(e, torch.Tensor):
            if e.dtype != a.dtype or e.shape != a.shape:
                raise SystemExit(f"fxc run: output {a.dtype}{list(a.shape)} differs from eager's {e.dtype}{list(e.shape)}")
            if e.numel():
                worst = max(worst, (e.double() - a.double()).abs().max().item())
        elif e != a:
            worst = float("inf")
    return worst


def _flush_all() -> None:
    """Flushes Python's and C's stdout (aten._print writes through C++)."""
    sys.stdout.flush()
    ctypes.CDLL(None).fflush(None)


def cmd_run(ns) -> int:
    import fxc

    name, model, args, kwargs, dynamic = load_model(ns.model)
    if ns.artifact:
        compiled = fxc.load(ns.artifact, model)
    else:
        compiled = fxc.compile(model, args, kwargs, target=ns.target, freeze=ns.freeze, dynamic_shapes=dynamic,
                               autocast=ns.autocast)
    print(f"[fxc] {name}: running eager PyTorch", flush=True)
    with torch.autocast("cpu", dtype=ns.autocast or torch.bfloat16, enabled=ns.autocast is not None):
        expected = model(*args, **kwargs)
    _flush_all()
    print(f"[fxc] {name}: running fxc ({ns.target})", flush=True)
    actual = compiled(*args, **kwargs)
    _flush_all()
    err = _max_error(expected, actual)
    n = len(pytree.tree_leaves(actual))
    print(f"[fxc] {name}: {n} output(s), largest absolute error vs eager: {err:g}")
    return 0 if err <= ns.tolerance else 1


def cmd_stages(ns) -> int:
    import fxc

    print("\n".join(fxc.stages(ns.target)))
    return 0


def _autocast_dtype(text: str):
    from fxc.frontend.autocast import DTYPES

    if text not in DTYPES:
        raise argparse.ArgumentTypeError(f"'{text}' is not one of {', '.join(DTYPES)}")
    return DTYPES[text]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="fxc", description="An MLIR compiler for PyTorch programs.")
    sub = p.add_subparsers(dest="command", required=True)

    e = sub.add_parser("export", help="capture MODEL and print its torch-stage MLIR")
    e.add_argument("model", nargs="?", help="FILE.py[:Name] (default: the bundled example)")
    e.add_argument("-o", "--output", help="output file (default: stdout)")
    e.set_defaults(fn=cmd_export)

    c = sub.add_parser("compile", help="compile MODEL; dump one stage or all of them")
    c.add_argument("model", nargs="?")
    c.add_argument("--target", default="cpu")
    c.add_argument("--freeze", action="store_true", help="bake the weights into the code as constants")
    c.add_argument("--autocast", metavar="DTYPE", type=_autocast_dtype, default=None,
                   help="compile as if the forward ran inside torch.autocast('cpu', DTYPE): bf16 or fp16")
    c.add_argument("--emit", metavar="STAGE", help="stop after STAGE and write its IR")
    c.add_argument("--timing", action="store_true",
                   help="print where compile time goes (capture, import, stages and passes, LLVM, link) to stderr")
    c.add_argument("-o", "--output", help="the artifact file (default NAME.fxc), or the file for --emit "
                                          "(default stdout)")
    c.set_defaults(fn=cmd_compile)

    r = sub.add_parser("run", help="compile MODEL, run it on its example inputs, compare with eager")
    r.add_argument("model", nargs="?")
    r.add_argument("--target", default="cpu")
    r.add_argument("--freeze", action="store_true", help="bake the weights into the code as constants")
    r.add_argument("--autocast", metavar="DTYPE", type=_autocast_dtype, default=None,
                   help="compile as if the forward ran inside torch.autocast('cpu', DTYPE): bf16 or fp16")
    r.add_argument("--artifact", metavar="PATH", help="run this saved artifact instead of compiling")
    r.add_argument("--tolerance", type=float, default=1e-4, help="largest error accepted (default 1e-4)")
    r.set_defaults(fn=cmd_run)

    s = sub.add_parser("stages", help="list the stages of a target's pipeline")
    s.add_argument("--target", default="cpu")
    s.set_defaults(fn=cmd_stages)
    return p


def main(argv=None) -> int:
    ns = build_parser().parse_args(argv)
    try:
        return ns.fn(ns)
    except (CompileError, ModelFileError, ArtifactError) as e:
        print(e, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
