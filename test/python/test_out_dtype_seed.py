"""PyTorch's test_out_dtype_op.py, every test, through fxc.

Each seed test builds a graph the way PyTorch's does (make_fx, functionalize,
torch.export, torch.compile, Inductor's decompositions) and then compiles it
with fxc and compares with eager.  Error-path tests check that PyTorch's own
exception and message reach the user unchanged.  The CUDA-only tests run on
CPU: the Inductor trace is taken with fake CUDA tensors (so it is the very
graph the seed checks, with ``aten._int_mm``) and compiled for the CPU.
"""

import pytest
import torch
import torch._inductor.decomposition
from torch._higher_order_ops.out_dtype import out_dtype
from torch._subclasses.fake_tensor import FakeTensorMode
from torch.fx.experimental.proxy_tensor import make_fx
from torch.fx.experimental.symbolic_shapes import ShapeEnv

import fxc
import fxc.dynamo
from fxc.testing import assert_same

aten = torch.ops.aten


def _int8(*shape):
    return torch.randint(-128, 127, shape, dtype=torch.int8)


class _MmWeight(torch.nn.Module):
    def __init__(self, weight):
        super().__init__()
        self.weight = weight

    def forward(self, x):
        return out_dtype(aten.mm.default, torch.int32, x, self.weight)


def _out_dtype_nodes(gm):
    return [n for n in gm.graph.nodes if n.op == "call_function" and n.target is out_dtype]


def _check_out_dtype_node(gm):
    (node,) = _out_dtype_nodes(gm)
    assert node.args[0] is aten.mm.default
    assert node.meta["val"].dtype == torch.int32
    assert node.args[2].meta["val"].dtype == torch.int8


def test_out_dtype_make_fx(target):
    weight, x = _int8(5, 5), _int8(5, 5)
    m = _MmWeight(weight)
    gm = make_fx(m)(x)
    _check_out_dtype_node(gm)
    assert_same(fxc.compile(gm, (x,), target=target)(x), m(x))

    gm = make_fx(torch.func.functionalize(_MmWeight(weight)))(x)
    _check_out_dtype_node(gm)
    assert_same(fxc.compile(gm, (x,), target=target)(x), m(x))


def test_out_dtype_op_functional():
    weight, x = _int8(5, 5), _int8(5, 5)
    m = _MmWeight(weight)
    ep = torch.export.export(m, (x,))
    _check_out_dtype_node(ep.graph_module)
    assert_same(fxc.compile(ep)(x), m(x))


@pytest.mark.parametrize("strict", [True, False])
def test_out_dtype_export_strict_and_non_strict(strict):
    weight, x = _int8(5, 7), _int8(3, 5)
    m = _MmWeight(weight)
    assert_same(fxc.compile(torch.export.export(m, (x,), strict=strict))(x), m(x))


def test_out_dtype_mm_numerical(target):
    weight, x = _int8(5, 5), _int8(5, 5)
    gm = make_fx(_MmWeight(weight))(x)
    expected = aten.mm.default(x.to(torch.int32), weight.to(torch.int32))
    assert_same(fxc.compile(gm, (x,), target=target)(x), expected)


def _mul_scalar(x, y):
    return out_dtype(aten.mul.Scalar, torch.int32, x, y)


def test_out_dtype_dynamo():
    inp = (_int8(5, 5), 3.0)
    before = dict(fxc.dynamo.compiled_graphs)
    compiled = torch.compile(_mul_scalar, backend="fxc", fullgraph=True)
    assert_same(compiled(*inp), _mul_scalar(*inp))
    after = fxc.dynamo.compiled_graphs
    assert after["forward"] == before.get("forward", 0) + 1, "fxc did not compile the graph"
    assert after["forward eager"] == before.get("forward eager", 0), "the graph fell back to eager"


def test_out_dtype_mul_scalar_numerical(target):
    inp = (_int8(5, 5), 3.0)
    gm = make_fx(_mul_scalar)(*inp)
    expected = aten.mul.Scalar(inp[0].to(dtype=torch.int32), 3)
    assert_same(fxc.compile(gm, inp, target=target)(*inp), expected)


class _InPlace(torch.nn.Module):
    def forward(self, x, y):
        return out_dtype(aten.add_.Tensor, torch.int32, x, y)


def test_out_dtype_non_functional():
    with pytest.raises(ValueError, match="out_dtype's first argument needs to be a functional operator"):
        fxc.compile(_InPlace(), (_int8(5, 5), _int8(5, 5)))


def test_out_dtype_non_op_overload():
    def f(x, y):
        return out_dtype(torch.add, torch.int32, x, y)

    with pytest.raises(ValueError, match="out_dtype's first argument must be an OpOverload"):
        fxc.compile(f, (_int8(5, 5), _int8(5, 5)))


def _mm_int32(x, w):
    return out_dtype(aten.mm.default, torch.int32, x, w)


@pytest.mark.parametrize("capture", ["fxc.compile", "torch.compile"])
def test_out_dtype_no_autograd(capture):
    inp = (torch.randn(5, 5, requires_grad=True), torch.randn(5, 5, requires_grad=True))
    if capture == "fxc.compile":
        f = fxc.compile(_mm_int32, inp)
    else:
        f = torch.compile(_mm_int32, backend="fxc", fullgraph=True)
    assert_same(f(*inp), _mm_int32(*inp))
    with torch.no_grad():
        assert_same(f(*inp), _mm_int32(*inp))
    with pytest.raises(RuntimeError, match="does not require grad and does not have a grad_fn"):
        out = f(*inp)
        loss = out - torch.ones(out.shape)
        loss.backward()


def test_out_dtype_inductor_decomp(target):
    # The seed compares eager, torch._int_mm and torch.compile (Inductor, CUDA).
    w, x = _int8(32, 32), _int8(32, 32)
    ref = torch._int_mm(x, w)
    assert_same(_mm_int32(x, w), ref)
    assert_same(fxc.compile(_mm_int32, (x, w), target=target)(x, w), ref)
    assert_same(torch.compile(_mm_int32, backend="fxc", fullgraph=True)(x, w), ref)


def test_out_dtype_inductor_decomp_trace():
    # Traced on fake CUDA tensors, as the seed does on real ones: Inductor's
    # decompositions turn out_dtype into aten._int_mm.  fxc compiles that
    # graph for the CPU.
    with FakeTensorMode(shape_env=ShapeEnv()):
        fake = [torch.empty(32, 32, dtype=torch.int8, device="cuda") for _ in range(2)]
    decomp_table = torch._inductor.decomposition.select_decomp_table()
    gm = make_fx(_mm_int32, decomp_table, tracing_mode="symbolic")(*fake)
    assert [n.target for n in gm.graph.nodes if n.op == "call_function"] == [aten._int_mm.default]
    x, w = _int8(32, 32), _int8(32, 32)
    assert_same(fxc.compile(gm)(x, w), torch._int_mm(x, w))


def test_out_dtype_inductor_decomp_trace_cpu(target):
    # The same trace on CPU tensors: out_dtype's CPU decomposition (casts and
    # an int32 mm), with symbolic shapes, compiled at the example shapes.
    x, w = _int8(32, 16), _int8(16, 8)
    decomp_table = torch._inductor.decomposition.select_decomp_table()
    gm = make_fx(_mm_int32, decomp_table, tracing_mode="symbolic")(x, w)
    assert_same(fxc.compile(gm, (x, w), target=target)(x, w), torch._int_mm(x, w))


def test_int_mm_symbolic_trace(target):
    x, w = _int8(33, 17), _int8(17, 9)
    gm = make_fx(torch._int_mm, tracing_mode="symbolic")(x, w)
    assert [n.target for n in gm.graph.nodes if n.op == "call_function"] == [aten._int_mm.default]
    assert_same(fxc.compile(gm, (x, w), target=target)(x, w), torch._int_mm(x, w))


def test_out_dtype_int_mm_default_trace(target):
    x, w = _int8(32, 32), _int8(32, 32)
    gm = make_fx(_mm_int32, tracing_mode="symbolic")(x, w)
    (node,) = _out_dtype_nodes(gm)
    assert node.args[:2] == (aten.mm.default, torch.int32)
    # Symbolic shapes: compiled at the example inputs' shapes, or, without
    # examples, at the sizes the graph was traced at.
    assert_same(fxc.compile(gm, (x, w), target=target)(x, w), torch._int_mm(x, w))
    assert_same(fxc.compile(gm, target=target)(x, w), torch._int_mm(x, w))


def test_out_dtype_wrong_output():
    def multiple_out(x):
        return out_dtype(aten.topk.default, torch.int32, x, 5)

    inp = (torch.randn(10),)
    with pytest.raises(ValueError, match="out_dtype's can only apply to ops that return a single tensor"):
        fxc.compile(multiple_out, inp)

    def singleton_list_out(x):
        return out_dtype(aten.split_copy.Tensor, torch.int32, x, 10)

    with pytest.raises(ValueError, match="out_dtype's can only apply to ops that return a single tensor"):
        fxc.compile(singleton_list_out, inp)


# -- beyond the seed: every capture path, on every allowed op ----------------
class _AllOps(torch.nn.Module):
    def forward(self, x, w, img, k, bias):
        return (
            out_dtype(aten.mm.default, torch.int32, x, w),
            out_dtype(aten.linear.default, torch.int32, x.unsqueeze(0), w.t(), bias),
            out_dtype(aten.conv2d.default, torch.int32, img, k, None, [1, 2], [1, 0]),
            out_dtype(aten.convolution.default, torch.int32, img, k, bias[:2], [1, 1], [0, 0], [1, 1], False, [0, 0], 1),
            out_dtype(aten.mul.Tensor, torch.int32, x, x),
            out_dtype(aten.mul.Scalar, torch.int16, x, 3),
            out_dtype(aten.div.Tensor, torch.float32, x, w[:, 0].abs() + 1),
            out_dtype(aten.div.Scalar, torch.int32, x, 2.5),
        )


def _capture(path, m, args):
    if path == "make_fx":
        return make_fx(m)(*args)
    if path == "make_fx_functionalize":
        return make_fx(torch.func.functionalize(m))(*args)
    if path == "make_fx_symbolic":
        return make_fx(m, tracing_mode="symbolic")(*args)
    return torch.export.export(m, args, strict=path == "export_strict")


@pytest.mark.parametrize(
    "path", ["make_fx", "make_fx_functionalize", "make_fx_symbolic", "export_strict", "export_non_strict", "torch.compile"]
)
def test_every_capture_path(path):
    m = _AllOps()
    # PyTorch traces out_dtype by running the op on the unpromoted arguments,
    # so the bias has the inputs' dtype (addmm rejects an int32 bias of int8
    # matrices while tracing; eager, which promotes first, would not).
    args = (_int8(6, 5), _int8(5, 3), _int8(1, 2, 7, 6), _int8(2, 2, 3, 3), _int8(3))
    if path == "torch.compile":
        before = fxc.dynamo.compiled_graphs["forward"]
        got = torch.compile(m, backend="fxc", fullgraph=True)(*args)
        assert fxc.dynamo.compiled_graphs["forward"] == before + 1
    else:
        got = fxc.compile(_capture(path, m, args), args)(*args)
    assert_same(got, m(*args))
