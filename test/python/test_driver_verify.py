"""The driver verifies the IR after fxc's Python passes (not after every
upstream pass, unless FXC_VERIFY_EACH_PASS=1): a Python pass that leaves
broken IR is a CompileError whose reproducer names that pass."""

import pytest

from fxc import _mlir_compat
from fxc.compiler import passes
from fxc.compiler.driver import run_stage
from fxc.compiler.stage import Stage
from fxc.errors import CompileError

MODULE = """
func.func @f(%x: i32) -> i32 {
  %0 = arith.addi %x, %x : i32
  return %0 : i32
}
"""


class _DropTerminators(passes.ModulePass):
    """Erases every func's terminator: IR that no longer verifies."""

    name = "test-drop-terminators"

    def run(self, module_op):
        for f in passes.funcs_with_body(module_op):
            ops = list(f.regions[0].blocks[0].operations)
            ops[-1].operation.erase()


@pytest.fixture
def broken_pass():
    passes.register(_DropTerminators)
    yield
    del passes.PASSES[_DropTerminators.name]


@pytest.mark.parametrize("each", ["0", "1"])
def test_broken_ir_from_a_python_pass_is_found_at_that_pass(broken_pass, monkeypatch, tmp_path, each):
    monkeypatch.setenv("FXC_VERIFY_EACH_PASS", each)
    module = _mlir_compat.parse_module(MODULE, _mlir_compat.new_context())
    stage = Stage("test", ("func",), ("canonicalize", _DropTerminators.name, "cse"))
    with pytest.raises(CompileError) as e:
        run_stage(module, stage, repro_dir=str(tmp_path))
    assert f"--pass-pipeline='builtin.module({_DropTerminators.name})'" in "\n".join(e.value.notes)
