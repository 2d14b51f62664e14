# RUN: %PYTHON %s | FileCheck %s
# Nested autocast regions import as nested fxc.autocast_enter/exit pairs.

import torch

import fxc
from fxc.testing import run


def nested(a, b):
    with torch.autocast("cpu", torch.bfloat16):
        x = torch.mm(a, b)
        with torch.autocast("cpu", enabled=False):
            y = torch.mm(a, b)
    return x, y


@run
def test_nested():
    print(fxc.export(nested, (torch.randn(4, 4), torch.randn(4, 4))).mlir)
# CHECK-LABEL: TEST: test_nested
# CHECK: %[[OUTER:.*]] = "fxc.autocast_enter"() {cache_enabled = {{.*}}, device = "cpu", dtype = bf16, enabled = true}
# CHECK: torch.aten.mm
# CHECK: %[[INNER:.*]] = "fxc.autocast_enter"() {{{.*}}enabled = false}
# CHECK: torch.aten.mm
# CHECK: "fxc.autocast_exit"(%[[INNER]])
# CHECK: "fxc.autocast_exit"(%[[OUTER]])
