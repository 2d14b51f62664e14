"""Compile-time reports (fxc.timing, FXC_TIMING=1): every stage and pass is
listed, and the phases add up to their totals."""

import pytest
import torch

import fxc
from fxc.compiler.backend import get_backend
from fxc.transforms.stages import pipeline_of


def _f(x, w):
    return torch.relu(x @ w) + 1


ARGS = (torch.randn(4, 8), torch.randn(8, 3))


@pytest.fixture
def no_cache(monkeypatch):
    monkeypatch.setenv("FXC_CACHE", "0")


def _assert_adds_up(phase, total):
    """Sub-phases never take more than their phase, and leave little of it."""
    if phase.children:
        assert phase.unaccounted() >= -1e-6, phase.name
        assert phase.unaccounted() <= 0.1 * total + 0.005, (phase.name, phase.unaccounted(), total)
    for c in phase.children:
        _assert_adds_up(c, total)


def test_report_lists_every_stage_and_pass_and_adds_up(no_cache):
    with fxc.timing() as t:
        compiled = fxc.compile(_f, ARGS)
    torch.testing.assert_close(compiled(*ARGS), _f(*ARGS))
    (compile_,) = t.root.children
    names = [c.name for c in compile_.children]
    backend = get_backend("cpu")
    stages = [s for s in pipeline_of(backend, backend.Options()) if s.passes]
    assert names == ["capture (torch.export)", "import (FX importer)", "compile cache lookup",
                     *[f"stage {s.name}" for s in stages], "build (cpu)", "load (the compiled program)"]
    for s in stages:
        passes = [c.name for c in compile_.child(f"stage {s.name}").children]
        assert passes == ["snapshot for reproducers", *s.passes]
    build = [c.name for c in compile_.child("build (cpu)").children]
    assert build == ["LLVM: translate + optimize", "LLVM: code generation (JIT)",
                     "compile the C shims (once per process)", "link (object file + cc -shared)"]
    assert all(c.seconds > 0 for c in compile_.children)
    _assert_adds_up(t.root, t.root.seconds)
    report = t.report().splitlines()
    assert report[0] == f"fxc compile time: {t.root.seconds:.3f} s"
    listed = [line.strip().rsplit(None, 4)[0] for line in report[1:] if not line.strip().startswith("(")]
    assert listed == [p.name for p in _walk(t.root)][1:]


def _walk(p):
    yield p
    for c in p.children:
        yield from _walk(c)


def test_env_flag_prints_the_report(no_cache, monkeypatch, capsys):
    monkeypatch.setenv("FXC_TIMING", "1")
    fxc.compile(_f, ARGS)
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("fxc compile time: ")
    assert any(line.split()[:2] == ["stage", "llvm"] for line in err)


def test_no_report_without_the_flag(no_cache, monkeypatch, capsys):
    monkeypatch.delenv("FXC_TIMING", raising=False)
    fxc.compile(_f, ARGS)
    assert capsys.readouterr().err == ""


def test_a_cache_hit_says_no_stage_ran(tmp_path, monkeypatch):
    monkeypatch.setenv("FXC_CACHE_DIR", str(tmp_path))
    fxc.compile(_f, ARGS)
    with fxc.timing() as t:
        fxc.compile(_f, ARGS)
    (compile_,) = t.root.children
    assert not any(c.name.startswith("stage ") for c in compile_.children)
    assert t.notes == ["loaded from the compile cache: no stage ran (FXC_CACHE=0 to time them)"]


def test_torch_compile_graphs_are_timed_too(no_cache):
    with fxc.timing() as t:
        torch.compile(_f, backend="fxc")(*ARGS)
    graphs = [c for c in t.root.children if c.name.startswith("compile (")]
    assert graphs, [c.name for c in t.root.children]
    stages = [c.name for c in graphs[0].children if c.name.startswith("stage ")]
    backend = get_backend("cpu")
    assert stages == [f"stage {s.name}" for s in pipeline_of(backend, backend.Options()) if s.passes]
