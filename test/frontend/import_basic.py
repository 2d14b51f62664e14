# RUN: %PYTHON %s | FileCheck %s
#
# The spine's import: lifted effect tokens become !fxc.token block arguments
# and results, aten._print becomes fxc.with_effects, out_dtype becomes
# fxc.out_dtype, and every op carries the user's source line.

import torch
from torch._higher_order_ops.out_dtype import out_dtype

import fxc
from fxc.testing import run


class PrintAndMatmul(torch.nn.Module):
    def forward(self, x, w):
        torch.ops.aten._print("moo")
        y = out_dtype(torch.ops.aten.mm.default, torch.int32, x, w)
        torch.ops.aten._print("moo")
        return y


ARGS = (torch.randint(-128, 127, (4, 8), dtype=torch.int8), torch.randint(-128, 127, (8, 2), dtype=torch.int8))


@run
def test_signature_and_ops():
    print(fxc.export(PrintAndMatmul(), ARGS).mlir)


# CHECK-LABEL: TEST: test_signature_and_ops
# The locations are the lines of forward() above (innermost user frame),
# named after the PyTorch op.
# CHECK: #[[F_PRINT1:.*]] = loc("{{.*}}import_basic.py":16:0)
# CHECK: #[[L_PRINT1:.*]] = loc("higher_order.with_effects"(#[[F_PRINT1]]))
# CHECK: func.func @main(%[[TOK:[^ :,)]+]]: !fxc.token {{.*}}, %[[X:[^ :,)]+]]: !torch.vtensor<[4,8],si8> {{.*}}, %[[W:[^ :,)]+]]: !torch.vtensor<[8,2],si8> {{.*}}) -> (!fxc.token, !torch.vtensor<[4,2],si32>)
# CHECK: %[[S:[^ :,)]+]] = torch.constant.str "moo"
# CHECK: %[[T1:[^ :,)]+]] = "fxc.with_effects"(%[[TOK]], %[[S]]) {op = "aten._print.default", {{.*}}} : (!fxc.token, !torch.str) -> !fxc.token loc(#[[L_PRINT1]])
# CHECK: %[[Y:[^ :,)]+]] = "fxc.out_dtype"(%[[X]], %[[W]]) {op = "aten.mm.default", {{.*}}out_dtype = si32} : (!torch.vtensor<[4,8],si8>, !torch.vtensor<[8,2],si8>) -> !torch.vtensor<[4,2],si32> loc(#[[L_MM:.*]])
# CHECK: %[[T2:[^ :,)]+]] = "fxc.with_effects"(%[[T1]], %{{.*}}) {op = "aten._print.default", {{.*}} loc(#[[L_PRINT2:.*]])
# CHECK: return %[[T2]], %[[Y]] : !fxc.token, !torch.vtensor<[4,2],si32>
# CHECK-DAG: #[[F_MM:.*]] = loc("{{.*}}import_basic.py":17:0)
# CHECK-DAG: #[[F_PRINT2:.*]] = loc("{{.*}}import_basic.py":18:0)
# CHECK-DAG: #[[L_MM]] = loc("higher_order.out_dtype"(#[[F_MM]]))
# CHECK-DAG: #[[L_PRINT2]] = loc("higher_order.with_effects"(#[[F_PRINT2]]))


def pure(x):
    return torch.sin(x) * 2


@run
def test_function_without_effects():
    # A plain function (no tokens): no !fxc.token in the signature.
    print(fxc.export(pure, (torch.randn(3),)).mlir)


# CHECK-LABEL: TEST: test_function_without_effects
# CHECK: func.func @main(%{{.*}}: !torch.vtensor<[3],f32> {{.*}}) -> !torch.vtensor<[3],f32>
# CHECK-NOT: fxc.token
# CHECK: torch.aten.sin
