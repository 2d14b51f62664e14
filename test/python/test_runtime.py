"""The runtime contract (issue 7): reentrant calls, live weights, artifacts,
the compile cache, input checks and torch.compile's options."""

import os
import subprocess
import sys
import textwrap
import threading
import warnings
from pathlib import Path

import pytest
import torch
from torch._higher_order_ops.effects import _EffectType, _register_effectful_op
from torch._higher_order_ops.out_dtype import out_dtype

import fxc
from fxc import dynamo
from fxc.runtime.artifact import ArtifactError
from fxc.testing import assert_same

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "quantized_mlp.py"

# An ordered effect that records which thread ran it, with what value.
LIB = torch.library.Library("fxcrt", "FRAGMENT")
LIB.define("trace(Tensor x, str tag) -> ()")
TRACE: list = []
TRACE_LOCK = threading.Lock()


def _trace(x, tag):
    with TRACE_LOCK:
        TRACE.append((threading.get_ident(), tag, x.item()))


LIB.impl("trace", _trace, "CompositeExplicitAutograd")
torch.library.register_fake("fxcrt::trace", lambda x, tag: None, lib=LIB)
_register_effectful_op(torch.ops.fxcrt.trace.default, _EffectType.ORDERED)


def _hammer(fn, n_threads=8, calls=300):
    """Calls ``fn(thread, i)`` from ``n_threads`` threads at once; re-raises
    the first failure."""
    errors, start = [], threading.Barrier(n_threads)

    def work(t):
        try:
            start.wait()
            for i in range(calls):
                fn(t, i)
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(n_threads)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    if errors:
        raise errors[0]


# -- reentrant calls --------------------------------------------------------------


def test_threads_pure_program_exact():
    # Integer-valued floats: every order of summation gives the exact result.
    w = torch.randint(-3, 4, (16, 16)).float()
    compiled = fxc.compile(lambda x: (x @ w + 1).relu(), (torch.randn(4, 16),))
    wrong = []

    def call(t, i):
        x = torch.randint(-50, 50, (4, 16), generator=torch.Generator().manual_seed(t * 1000 + i)).float()
        if not torch.equal(compiled(x), (x @ w + 1).relu()):
            wrong.append((t, i))

    _hammer(call)
    assert wrong == []


def test_threads_effects_each_call_its_own_in_order():
    def f(x):
        torch.ops.fxcrt.trace(x.sum(), "a")
        y = x * 2
        torch.ops.fxcrt.trace(y.sum(), "b")
        return y + 1

    compiled = fxc.compile(f, (torch.zeros(3),))
    del TRACE[:]
    ident = {}

    def call(t, i):
        ident[t] = threading.get_ident()
        x = torch.full((3,), float(t * 1000 + i))
        assert torch.equal(compiled(x), x * 2 + 1)

    _hammer(call)
    for t, tid in ident.items():
        mine = [(tag, v) for who, tag, v in TRACE if who == tid]
        expected = []
        for i in range(300):
            s = 3.0 * (t * 1000 + i)
            expected += [("a", s), ("b", 2 * s)]
        assert mine == expected, f"thread {t}: effects lost, duplicated or out of order"
    assert len(TRACE) == 8 * 300 * 2


def test_host_call_error_stays_in_its_call():
    LIB.define("maybe_fail(Tensor x) -> Tensor")
    LIB.impl("maybe_fail", lambda x: x + 1 if x.sum() >= 0 else (_ for _ in ()).throw(ValueError("negative")),
             "CompositeExplicitAutograd")
    torch.library.register_fake("fxcrt::maybe_fail", lambda x: torch.empty_like(x), lib=LIB)
    _register_effectful_op(torch.ops.fxcrt.maybe_fail.default, _EffectType.ORDERED)
    compiled = fxc.compile(lambda x: torch.ops.fxcrt.maybe_fail(x) * 2, (torch.ones(2),))
    bad = []

    def call(t, i):
        x = torch.full((2,), float(i % 3 - 1))
        try:
            out = compiled(x)
            assert x.sum() >= 0 and torch.equal(out, (x + 1) * 2)
        except ValueError as e:
            if x.sum() >= 0 or "negative" not in str(e):
                bad.append((t, i))

    _hammer(call, n_threads=4, calls=60)
    assert bad == []


# -- weights are inputs -------------------------------------------------------------


class MLP(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2 = torch.nn.Linear(8, 16), torch.nn.Linear(16, 4)
        self.register_buffer("shift", torch.zeros(4))

    def forward(self, x):
        return self.fc2(self.fc1(x).relu()) + self.shift


def test_weight_changes_are_seen():
    m, x = MLP(), torch.randn(3, 8)
    compiled = fxc.compile(m, (x,))
    assert [s.fqn for s in compiled.signature.state] == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias", "shift"]
    with torch.no_grad():
        m.fc1.weight.mul_(2)  # in place
        m.shift.add_(1)
    assert_same(compiled(x), m(x))
    m.load_state_dict(MLP().state_dict())  # copies into the same tensors
    assert_same(compiled(x), m(x))
    opt = torch.optim.SGD(m.parameters(), lr=0.5)
    m(x).sum().backward()
    opt.step()
    assert_same(compiled(x), m(x).detach())
    m.fc2.weight = torch.nn.Parameter(torch.randn(4, 16))  # reassigned
    assert_same(compiled(x), m(x).detach())
    m.fc2.weight = torch.nn.Parameter(torch.randn(4, 16, dtype=torch.float64))
    with pytest.raises(TypeError, match="input 'fc2.weight': expected dtype torch.float32, got torch.float64"):
        compiled(x)


def test_freeze_ignores_weight_changes():
    m, x = MLP(), torch.randn(3, 8)
    before = m(x)
    frozen = fxc.compile(m, (x,), freeze=True)
    assert frozen.signature.state == []
    with torch.no_grad():
        m.fc1.weight.mul_(2)
    assert_same(frozen(x), before)
    assert not torch.allclose(m(x), before)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
def test_frozen_weights_are_transposed_at_compile_time(dtype):
    """fxc-fold-constant-transposes: a frozen linear's weight is transposed
    once, in the compiler; the code has no transpose left."""
    m = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4)).to(dtype).eval()
    x = torch.randn(3, 8, dtype=dtype)
    frozen = fxc.compile(m, (x,), freeze=True)
    assert "linalg.transpose" not in frozen.ir("linalg")
    assert "linalg.transpose" in fxc.compile(m, (x,)).ir("linalg")  # weights read per call: transposed per call
    with torch.no_grad():
        expected = m(x)
    torch.testing.assert_close(frozen(x), expected, atol=0 if dtype != torch.bfloat16 else 2e-2, rtol=1e-5)


def test_torch_compile_sees_weight_changes():
    m, x = MLP(), torch.randn(3, 8)
    compiled = torch.compile(m, backend="fxc", options={"fallback": "error"})
    assert_same(compiled(x).detach(), m(x).detach())
    opt = torch.optim.SGD(m.parameters(), lr=0.5)
    compiled(x).sum().backward()
    opt.step()
    with torch.no_grad():
        m.shift.add_(3)
    assert_same(compiled(x).detach(), m(x).detach())


def test_mutated_buffer_written_back_to_the_live_module():
    class Counter(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("n", torch.zeros(2))

        def forward(self, x):
            self.n.add_(1)
            return x + self.n

    m, x = Counter(), torch.randn(2)
    compiled = fxc.compile(m, (x,))
    m.n.zero_()  # export ran forward once
    assert_same(compiled(x), x + 1)
    assert_same(compiled(x), x + 2)
    assert_same(m.n, torch.full((2,), 2.0))


# -- artifacts and the cache --------------------------------------------------------


def _run_python(code: str, **env) -> str:
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                         env={**os.environ, **env}, timeout=300)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_save_load_in_a_fresh_process_bundled_example(tmp_path):
    path = tmp_path / "example.fxc"
    _run_python(f"""
        import fxc, sys
        sys.path.insert(0, {str(EXAMPLE.parent)!r})
        from quantized_mlp import Model, example_inputs
        fxc.compile(Model(), example_inputs()).save({str(path)!r})
    """)
    out = _run_python(f"""
        import sys, torch, fxc, fxc.api
        sys.path.insert(0, {str(EXAMPLE.parent)!r})
        from quantized_mlp import Model, example_inputs
        fxc.api.compile_program = None  # loading must not compile
        m = Model()
        loaded = fxc.load({str(path)!r}, m)
        got, want = loaded(*example_inputs()), m(*example_inputs())
        assert got.keys() == want.keys()
        assert all(torch.equal(got[k], want[k]) for k in want)
        print("exact")
    """)
    assert out.splitlines() == ["fxc example: layer 1", "fxc example: layer 2"] * 2 + ["exact"]


def test_save_load_frozen_int8_model(tmp_path):
    class Int8Linear(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Buffer(torch.randint(-128, 128, (32, 16), dtype=torch.int8))

        def forward(self, x):
            return out_dtype(torch.ops.aten.mm.default, torch.int32, x, self.w)

    m, x = Int8Linear(), torch.randint(-128, 128, (5, 32), dtype=torch.int8)
    compiled = fxc.compile(m, (x,), freeze=True)
    compiled.save(tmp_path / "int8.fxc")
    torch.save((x, m(x)), tmp_path / "io.pt")
    out = _run_python(f"""
        import torch, fxc
        loaded = fxc.load({str(tmp_path / 'int8.fxc')!r})  # frozen: no module needed
        x, want = torch.load({str(tmp_path / 'io.pt')!r})
        assert torch.equal(loaded(x), want)
        print(loaded.artifact.manifest["frozen"], loaded.signature.outputs[0].type)
    """)
    assert out.split() == ["True", "int32[5,", "16]"]


def test_load_needs_the_weights_it_does_not_hold(tmp_path):
    m, x = MLP(), torch.randn(3, 8)
    fxc.compile(m, (x,)).save(tmp_path / "mlp.fxc")
    with pytest.raises(TypeError, match="reads the parameter 'fc1.weight': bind it to the module or a state dict"):
        fxc.load(tmp_path / "mlp.fxc")
    assert_same(fxc.load(tmp_path / "mlp.fxc", m.state_dict())(x), m(x))
    with pytest.raises(ValueError, match="the module has no parameter 'fc1.weight'"):
        fxc.load(tmp_path / "mlp.fxc", torch.nn.Linear(8, 4))
    with pytest.raises(ArtifactError, match="is not an fxc artifact"):
        fxc.load(__file__)
    with pytest.raises(ArtifactError, match="no fxc artifact at"):
        fxc.load(tmp_path / "nope.fxc")


CACHE_PROBE = """
    import sys, time, torch, fxc, fxc.api
    sys.path.insert(0, {folder!r})
    from quantized_mlp import Model, example_inputs
    ran = []
    real = fxc.api._run_stages
    fxc.api._run_stages = lambda *a: (ran.append(1), real(*a))
    m = Model()
    c = fxc.compile(m, example_inputs())
    out = c(*example_inputs())
    assert torch.equal(out["logits"], m(*example_inputs())["logits"])
    print("cached" if c.from_cache else "compiled", len(ran))
"""


def test_cache_second_process_skips_the_pipeline(tmp_path):
    code = CACHE_PROBE.format(folder=str(EXAMPLE.parent))
    env = {"FXC_CACHE_DIR": str(tmp_path / "cache")}
    assert _run_python(code, **env).split()[-2:] == ["compiled", "1"]
    assert _run_python(code, **env).split()[-2:] == ["cached", "0"]
    assert _run_python(code, FXC_CACHE="0", **env).split()[-2:] == ["compiled", "1"]


def test_two_processes_compile_one_model_at_once(tmp_path):
    code = textwrap.dedent(CACHE_PROBE.format(folder=str(EXAMPLE.parent)))
    env = {**os.environ, "FXC_CACHE_DIR": str(tmp_path / "cache")}
    procs = [subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [e for _, e in outs]
    assert len(list((tmp_path / "cache").rglob("*.fxc"))) == 1


def test_dump_folders_are_unique_across_threads(tmp_path, monkeypatch):
    monkeypatch.setenv("FXC_DUMP_DIR", str(tmp_path))
    monkeypatch.setenv("FXC_CACHE", "0")
    threads = [threading.Thread(target=fxc.compile, args=(lambda x: x * k, (torch.randn(2),))) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    folders = list(tmp_path.iterdir())
    assert len(folders) == 4
    assert all(sorted(p.name for p in f.iterdir()) == sorted(f"{s}.mlir" for s in fxc.stages()) for f in folders)


def test_ir_is_only_printed_when_asked_and_elides_big_constants():
    m = torch.nn.Linear(256, 256)
    x = torch.randn(2, 256)
    compiled = fxc.compile(m, (x,), freeze=True)
    assert compiled._ir == {}  # nothing kept while compiling
    text = compiled.ir("linalg")
    assert len(text) < 20_000, "the 256x256 weight must be elided"
    assert len(compiled.ir("linalg", elide=False)) > 256 * 256 * 2


# -- inputs -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def add_one():
    return fxc.compile(lambda x: x * 2 + 1, (torch.randn(4),))


def test_conjugate_and_negative_bits_are_materialized(add_one):
    neg = torch.randn(4)._neg_view()
    assert neg.is_neg()
    assert_same(add_one(neg), neg.clone() * 2 + 1)
    imag = torch.tensor([1 + 2j, 3 - 1j, 0j, 2j]).conj().imag
    assert imag.is_neg()
    assert_same(add_one(imag), torch.tensor([-2.0, 1.0, 0.0, -2.0]) * 2 + 1)


def test_strided_and_offset_views(add_one):
    base = torch.arange(12.0)
    for view in (base[::3], base[5:9], base.view(4, 3)[:, 1]):
        assert_same(add_one(view), view.clone() * 2 + 1)


def test_plain_subclass_is_read_as_a_tensor(add_one):
    class Tagged(torch.Tensor):
        pass

    t = torch.randn(4).as_subclass(Tagged)
    out = add_one(t)
    assert type(out) is torch.Tensor and torch.equal(out, t.as_subclass(torch.Tensor) * 2 + 1)


def test_tensors_without_storage_never_reach_compiled_code(add_one):
    from torch._subclasses.fake_tensor import FakeTensorMode
    from torch.testing._internal.two_tensor import TwoTensor

    with FakeTensorMode() as mode:
        fake = torch.randn(4)
    with pytest.raises(TypeError, match="input 'x': a FakeTensor has no data"):
        add_one(fake)
    del mode
    with pytest.raises(TypeError, match=r"input 'x': a tensor subclass \(TwoTensor\) has no data"):
        add_one(TwoTensor(torch.randn(4), torch.randn(4)))
    with pytest.raises(TypeError, match="input 'x': a meta tensor"):
        add_one(torch.empty(4, device="meta"))


# -- torch.compile options ----------------------------------------------------------


def test_torch_compile_options_are_checked():
    with pytest.raises(Exception, match="unknown option"):
        torch.compile(lambda x: x + 1, backend="fxc", options={"nope": 1})(torch.randn(2))
    torch._dynamo.reset()
    with pytest.raises(Exception, match="fallback"):
        torch.compile(lambda x: x + 1, backend="fxc", options={"fallback": "maybe"})(torch.randn(2))
    torch._dynamo.reset()
    f = torch.compile(lambda x: x + 1, backend="fxc", options={"opt_level": 1, "fallback": "error"})
    with warnings.catch_warnings():
        warnings.simplefilter("error", dynamo.FallbackWarning)
        assert_same(f(torch.ones(2)), torch.full((2,), 2.0))
    torch._dynamo.reset()


def _minor_faults():
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def test_large_intermediate_buffers_are_reused_across_calls():
    """The compiled code's large intermediate buffers (a 4 MB matmul result)
    come from fxc's buffer pool (fxc/backends/cpu/buffer_pool.c): after the
    first call, calls touch no fresh pages (about 2,000 each from libc's
    malloc), from this thread or from several, and their results stay right."""

    def f(x):
        return torch.softmax(x @ x.T, -1).sum(0)

    x = torch.randn(1024, 1024)
    compiled = fxc.compile(f, (x,))
    for _ in range(3):
        compiled(x)
    before = _minor_faults()
    for _ in range(10):
        compiled(x)
    assert (_minor_faults() - before) / 10 < 64
    xs = [torch.randn(1024, 1024) for _ in range(4)]
    results = [None] * len(xs)

    def run(i):
        for _ in range(3):
            results[i] = compiled(xs[i])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(xs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for x, got in zip(xs, results):
        torch.testing.assert_close(got, f(x), rtol=1e-4, atol=1e-3)
