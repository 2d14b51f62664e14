# RUN: %PYTHON %s | FileCheck %s
#
# How each form of effect tokens, effectful custom ops, mutating custom ops,
# torchbind objects and mutated state look once imported (the torch stage).
# A torchbind object passed to an effectful op is a string constant naming
# it, marked fxc.object (the host runtime passes the live object), from
# torch.export (a CUSTOM_OBJ input) and from aot_export_module (a get_attr).

import torch
import torch._functorch.config
from torch._functorch.aot_autograd import aot_export_module
from torch._higher_order_ops.effects import _EffectType, _register_effectful_op
from torch._higher_order_ops.torchbind import enable_torchbind_tracing

import fxc
from fxc.testing import run, torchbind

LIB = torch.library.Library("fxclit", "FRAGMENT")
LIB.define("record(Tensor x, str name) -> Tensor")
LIB.impl("record", lambda x, name: x * 2, "CompositeExplicitAutograd")
torch.library.register_fake("fxclit::record", lambda x, name: torch.empty_like(x), lib=LIB)
_register_effectful_op(torch.ops.fxclit.record.default, _EffectType.ORDERED)
LIB.define("inplace_add(Tensor input, Tensor(a!) output) -> ()")
LIB.define("scale(Tensor x, SymInt k) -> Tensor")  # mutates nothing; torch-mlir has no op for it
LIB.impl("scale", lambda x, k: x * k, "CompositeExplicitAutograd")
torch.library.register_fake("fxclit::scale", lambda x, k: torch.empty_like(x), lib=LIB)


def inplace_add(input, output):
    output.add_(input)


LIB.impl("inplace_add", inplace_add, "CompositeExplicitAutograd")


class Print(torch.nn.Module):
    def forward(self, x):
        torch.ops.aten._print("moo")
        res = x + x
        torch.ops.aten._print("moo")
        return (res,)


X = torch.randn(3)


def torch_stage(gm):
    return fxc.compile(gm, stop_after="torch").ir("torch")


@run
def test_aot_export_lifted_tokens():
    gm, _ = aot_export_module(Print(), (X,), trace_joint=False)
    print(torch_stage(gm))


# CHECK-LABEL: TEST: test_aot_export_lifted_tokens
# CHECK: func.func @main(%[[TOK:.*]]: !fxc.token, %[[X:.*]]: !torch.vtensor<[3],f32>) -> (!fxc.token, !torch.vtensor<[3],f32>)
# CHECK: %[[T1:.*]] = "fxc.with_effects"(%[[TOK]], %{{.*}}) {op = "aten._print.default"
# CHECK: %[[T2:.*]] = "fxc.with_effects"(%[[T1]], %{{.*}}) {op = "aten._print.default"
# CHECK: return %[[T2]], %{{.*}} : !fxc.token, !torch.vtensor<[3],f32>


@run
def test_aot_export_unlifted_tokens():
    with torch._functorch.config.patch(unlift_effect_tokens=True):
        gm, _ = aot_export_module(Print(), (X,), trace_joint=False)
    print(torch_stage(gm))


# CHECK-LABEL: TEST: test_aot_export_unlifted_tokens
# CHECK: func.func @main(%{{.*}}: !torch.vtensor<[3],f32>) -> !torch.vtensor<[3],f32>
# CHECK: %[[T0:.*]] = "fxc.make_token"() : () -> !fxc.token
# CHECK: %[[T1:.*]] = "fxc.with_effects"(%[[T0]], %{{.*}}) {op = "aten._print.default"
# CHECK: %[[T2:.*]] = "fxc.with_effects"(%[[T1]], %{{.*}}) {op = "aten._print.default"
# CHECK: "fxc.sink_tokens"(%[[T2]]) : (!fxc.token) -> ()


def record_twice(x):
    y = torch.ops.fxclit.record(x, "first")
    return torch.ops.fxclit.record(y + 1, "second")


@run
def test_export_custom_effectful_op():
    print(fxc.export(record_twice, (X,)).mlir)


# CHECK-LABEL: TEST: test_export_custom_effectful_op
# CHECK: func.func @main(%[[TOK:[^ :,)]+]]: !fxc.token {{.*}}, %[[X:[^ :,)]+]]: !torch.vtensor<[3],f32> {{.*}}) -> (!fxc.token, !torch.vtensor<[3],f32>)
# CHECK: %[[R1:.*]]:2 = "fxc.with_effects"(%[[TOK]], %[[X]], %{{.*}}) {op = "fxclit.record.default", {{.*}}resultSegmentSizes = array<i32: 1, 1, 0, 0, 0>} : (!fxc.token, !torch.vtensor<[3],f32>, !torch.str) -> (!fxc.token, !torch.vtensor<[3],f32>)
# CHECK: %[[Y:.*]] = torch.aten.add.Scalar %[[R1]]#1
# CHECK: %[[R2:.*]]:2 = "fxc.with_effects"(%[[R1]]#0, %[[Y]], %{{.*}}) {op = "fxclit.record.default"
# CHECK: return %[[R2]]#0, %[[R2]]#1


def add_into_view(x, y):
    torch.ops.fxclit.inplace_add(x, y[1])
    return y


@run
def test_export_mutating_custom_op():
    # auto_functionalized_v2 becomes a host call on the base; the mutated
    # input comes back once, as the program's result and its new value.
    print(fxc.export(add_into_view, (X, torch.ones(2, 3))).mlir)


# CHECK-LABEL: TEST: test_export_mutating_custom_op
# CHECK: func.func private @[[H:fxc_host_[0-9]+]](!torch.vtensor<[3],f32>, !torch.vtensor<[2,3],f32>) -> !torch.vtensor<[2,3],f32> attributes {fxc.args = [{tensor = 0 : i64}, {base = 0 : i64, offset = 3 : i64, size = [3], stride = [1]}], fxc.bases = [1], fxc.op = "fxclit.inplace_add.default", llvm.emit_c_interface}
# CHECK: func.func @main(%[[X:[^ :,)]+]]: !torch.vtensor<[3],f32> {{.*}}, %[[Y:[^ :,)]+]]: !torch.vtensor<[2,3],f32> {{.*}}) -> !torch.vtensor<[2,3],f32>
# CHECK: %[[R:.*]] = call @[[H]](%[[X]], %[[Y]])
# CHECK: return %[[R]] : !torch.vtensor<[2,3],f32>


def scale3(x):
    return torch.ops.fxclit.scale(x + 1, 3)


@run
def test_export_opaque_custom_op():
    # A custom op that mutates nothing and that torch-mlir has no op for is a
    # host call (no bases); a constant argument is a value entry.
    print(fxc.export(scale3, (X,)).mlir)


# CHECK-LABEL: TEST: test_export_opaque_custom_op
# CHECK: func.func private @[[H:fxc_host_[0-9]+]](!torch.vtensor<[3],f32>) -> !torch.vtensor<[3],f32> attributes {fxc.args = [{tensor = 0 : i64}, {value = 3 : i64}], fxc.op = "fxclit.scale.default", llvm.emit_c_interface}
# CHECK: %[[A:.*]] = torch.aten.add.Scalar
# CHECK: %[[R:.*]] = call @[[H]](%[[A]])
# CHECK: return %[[R]] : !torch.vtensor<[3],f32>


class BufferAndInput(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("buf", torch.ones(3))

    def forward(self, x):
        torch.ops.aten._print("moo")
        self.buf.add_(x)
        x.mul_(2)
        return self.buf + x


@run
def test_export_mutated_state():
    # The mutated buffer is an argument; its new value and the mutated
    # input's are results, before the user output.
    print(fxc.export(BufferAndInput(), (X,)).mlir)


# CHECK-LABEL: TEST: test_export_mutated_state
# CHECK: func.func @main(%{{[^ :,)]+}}: !fxc.token {{.*}}, %[[BUF:[^ :,)]+]]: !torch.vtensor<[3],f32> {{.*}}, %[[X:[^ :,)]+]]: !torch.vtensor<[3],f32> {{.*}}) -> (!fxc.token, !torch.vtensor<[3],f32>, !torch.vtensor<[3],f32>, !torch.vtensor<[3],f32>)
# CHECK: %[[NEWBUF:.*]] = torch.aten.add.Tensor %[[BUF]], %[[X]]
# CHECK: %[[NEWX:.*]] = torch.aten.mul.Scalar %[[X]]
# CHECK: %[[OUT:.*]] = torch.aten.add.Tensor %[[NEWBUF]], %[[NEWX]]
# CHECK: return %{{.*}}, %[[NEWBUF]], %[[NEWX]], %[[OUT]]


assert torchbind.load(), "this torch build has no torchbind test classes"


class FooUser(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.attr = torch.classes._TorchScriptTesting._Foo(10, 20)

    def forward(self, x):
        return (x + torch.ops._TorchScriptTesting.takes_foo(self.attr, x),)


@run
def test_torchbind_export():
    with enable_torchbind_tracing():
        print(fxc.export(FooUser(), (torch.ones(2, 3),)).mlir)


# CHECK-LABEL: TEST: test_torchbind_export
# CHECK: func.func @main(%[[TOK:[^ :,)]+]]: !fxc.token {{.*}}, %[[X:[^ :,)]+]]: !torch.vtensor<[2,3],f32> {{.*}})
# CHECK: %[[OBJ:.*]] = torch.constant.str "attr" {fxc.object}
# CHECK: "fxc.with_effects"(%[[TOK]], %[[OBJ]], %[[X]]) {op = "_TorchScriptTesting.takes_foo.default"


@run
def test_torchbind_aot_export_module():
    with enable_torchbind_tracing():
        gm, _ = aot_export_module(FooUser(), (torch.ones(2, 3),), trace_joint=False)
    print(fxc.compile(gm, stop_after="torch").ir("torch"))


# CHECK-LABEL: TEST: test_torchbind_aot_export_module
# CHECK: %[[OBJ:.*]] = torch.constant.str "_torchbind_obj0" {fxc.object}
# CHECK: "fxc.with_effects"(%arg0, %[[OBJ]], %arg1) {op = "_TorchScriptTesting.takes_foo.default"
