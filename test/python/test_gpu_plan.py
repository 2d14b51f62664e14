"""The GPU runtime shared by the Triton and NVVM backends (fxc.runtime.gpu_plan):
buffer reuse, the plan executor with a stand-in launcher, and loading a GPU
artifact where torch-mlir is not installed."""

import subprocess
import sys
import textwrap

import pytest
import torch

import fxc
from fxc.runtime.artifact import Artifact
from fxc.runtime.gpu_plan import Launcher, PlanExecutable, assign_slots


def _live_ranges(plan):
    """Per buffer with a slot, the steps from its definition to its last use (views included)."""
    root, ranges = {}, {}
    for i, step in enumerate(plan["steps"]):
        if step["kind"] == "view":
            root[step["dst"]] = root.get(step["src"], step["src"])
        used = [step.get(k) for k in ("buffer", "src", "dst") if k in step] + step.get("args", []) + step.get("outs", [])
        for b in used:
            b = root.get(b, b)
            lo, _ = ranges.get(b, (i, i))
            ranges[b] = (lo, i)
    return {b: r for b, r in ranges.items() if "slot" in plan["buffers"][b]}


def _assert_no_overlap(plan):
    ranges = _live_ranges(plan)
    by_slot = {}
    for b, r in ranges.items():
        by_slot.setdefault(plan["buffers"][b]["slot"], []).append(r)
    for slot, rs in by_slot.items():
        rs.sort()
        for (_, hi), (lo, _) in zip(rs, rs[1:]):
            assert hi < lo, f"slot {slot} holds two live buffers: {rs}"


def _chain_plan():
    """x -> a = x+y -> b = a*2 -> c = b+y -> d = c*2 (a view) -> out; a and c can share, b and d can."""
    buf = {"shape": [4], "dtype": "float32"}
    steps = [
        {"kind": "launch", "kernel": "add", "args": [0, 1], "outs": [2]},
        {"kind": "launch", "kernel": "mul2", "args": [2], "outs": [3]},
        {"kind": "launch", "kernel": "add", "args": [3, 1], "outs": [4]},
        {"kind": "alloc", "buffer": 5},
        {"kind": "launch", "kernel": "mul2_into", "args": [4, 5], "outs": []},
        {"kind": "view", "src": 5, "dst": 6},
        {"kind": "copy", "src": 6, "dst": 7},
    ]
    buffers = [dict(buf) for _ in range(6)] + [{"shape": [2, 2], "dtype": "float32"}] * 2
    return {"buffers": [dict(b) for b in buffers], "inputs": [0, 1], "outputs": [7],
            "steps": [{"kind": "alloc", "buffer": 7}] + steps}


def test_slots_reuse_dead_buffers_only():
    plan = _chain_plan()
    assign_slots(plan)
    _assert_no_overlap(plan)
    slots = {b: plan["buffers"][b].get("slot") for b in range(8)}
    assert slots[0] is None and slots[1] is None and slots[7] is None  # inputs and the output: never shared
    assert plan["slots"] == 2 and slots[2] == slots[4] and slots[3] == slots[5]


class _CpuLauncher(Launcher):
    """Runs the stand-in kernels of _chain_plan with torch on the CPU."""

    name = "test"
    device_types = ("cpu",)

    def launch(self, step, args, outs, env, device):
        kernel = step["kernel"]
        if kernel == "add":
            outs[0].copy_(args[0] + args[1])
        elif kernel == "mul2":
            outs[0].copy_(args[0] * 2)
        else:
            args[1].copy_(args[0] * 2)


def test_executor_runs_a_plan_with_reused_buffers():
    sig = fxc.compile(lambda x, y: (x + y).reshape(2, 2), (torch.randn(4), torch.randn(4)),
                      target="nvvm").artifact.manifest["signature"]
    plan = _chain_plan()
    assign_slots(plan)
    program = PlanExecutable(Artifact({"signature": sig, "plan": plan}, {}), None, _CpuLauncher())
    x, y = torch.randn(4), torch.randn(4)
    (out,) = program(x, y)
    torch.testing.assert_close(out, ((((x + y) * 2) + y) * 2).reshape(2, 2))
    with pytest.raises(ValueError, match="input 'y'"):
        program(x, torch.randn(5))


def test_nvvm_plan_reuses_intermediates():
    pytest.importorskip("triton")
    from fxc.backends.nvvm import ptx

    if ptx.unavailable():
        pytest.skip(ptx.unavailable())
    mlp = torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.ReLU(), torch.nn.Linear(32, 32), torch.nn.ReLU(),
                              torch.nn.Linear(32, 32)).eval()
    plan = fxc.compile(mlp, (torch.randn(8, 16),), target="nvvm").artifact.manifest["plan"]
    _assert_no_overlap(plan)
    allocated = [s["buffer"] for s in plan["steps"] if s["kind"] == "alloc" and s["buffer"] not in plan["outputs"]]
    assert 0 < plan["slots"] < len(allocated)


_NO_TORCH_MLIR = textwrap.dedent("""
    import sys
    class Block:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] == "torch_mlir":
                raise ImportError("torch_mlir is not installed here")
    sys.meta_path.insert(0, Block())
    import torch, fxc
    program = fxc.load(sys.argv[1])
    try:
        program(*torch.load(sys.argv[2]))
    except RuntimeError as e:
        print("RuntimeError:", e)
    else:
        print("ran")
    assert "torch_mlir" not in sys.modules
""")


@pytest.mark.parametrize("target", ["nvvm", "triton"])
def test_gpu_artifact_loads_without_torch_mlir(tmp_path, target):
    pytest.importorskip("triton")
    args = (torch.randn(4, 8), torch.randn(8))
    fxc.compile(lambda x, y: torch.relu(x * y).sum(-1), args, target=target).save(tmp_path / "p.fxc")
    torch.save(args, tmp_path / "args.pt")
    r = subprocess.run([sys.executable, "-c", _NO_TORCH_MLIR, str(tmp_path / "p.fxc"), str(tmp_path / "args.pt")],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    if target == "triton":  # CPU tensors: Triton's interpreter
        assert r.stdout.strip() == "ran"
    elif not torch.cuda.is_available():
        assert "no CUDA device" in r.stdout


def test_gpu_check_dry_run_without_torch_mlir(tmp_path):
    """benchmarks/gpu_check.py: compile two suite programs for both targets,
    then `run --device cpu` where torch-mlir cannot be imported: the Triton
    artifacts load and match eager (interpreter), NVVM ones say they need CUDA."""
    pytest.importorskip("triton")
    import os

    script = os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks", "gpu_check.py")
    out = str(tmp_path / "gpu")
    r = subprocess.run([sys.executable, script, "compile", "--out", out, "--only", "mlp", "effects"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    runner = _NO_TORCH_MLIR.split("import torch, fxc")[0] + textwrap.dedent("""
        import runpy
        sys.argv = sys.argv[1:]
        runpy.run_path(sys.argv[0], run_name="__main__")  # exits; importing torch_mlir raises
    """)
    r = subprocess.run([sys.executable, "-c", runner, script, "run", out, "--device", "cpu"],
                       capture_output=True, text=True)
    lines = [ln.split(None, 2) for ln in r.stdout.splitlines() if ln.startswith(("mlp ", "effects "))]
    assert r.returncode == 0 and r.stdout.strip().endswith("0 failed"), r.stdout + r.stderr[-2000:]
    assert [(n, t, s.split()[0]) for n, t, s in lines] == [
        ("mlp", "triton", "ok"), ("mlp", "nvvm", "skipped:"), ("effects", "triton", "ok"), ("effects", "nvvm", "skipped:")]


def test_alias_steps_are_strided_views_and_kernels_get_the_base():
    """An alias buffer is the strided view its strides/offset describe (host
    steps such as copy see the right elements); NVVM passes kernels the
    base pointer, the kernel's type adding the offset back."""
    from fxc.backends.nvvm.runtime import _pointer

    sig = fxc.compile(lambda x: x[:, 1:3].contiguous(), (torch.randn(3, 4),),
                      target="nvvm").artifact.manifest["signature"]
    plan = {"buffers": [{"shape": [3, 4], "dtype": "float32"},
                        {"shape": [3, 2], "dtype": "float32", "strides": [4, 1], "offset": 1},
                        {"shape": [3, 2], "dtype": "float32"}],
            "inputs": [0], "outputs": [2],
            "steps": [{"kind": "alloc", "buffer": 2}, {"kind": "alias", "src": 0, "dst": 1},
                      {"kind": "copy", "src": 1, "dst": 2}]}
    assign_slots(plan)
    program = PlanExecutable(Artifact({"signature": sig, "plan": plan}, {}), None, _CpuLauncher())
    x = torch.randn(3, 4)
    torch.testing.assert_close(program(x)[0], x[:, 1:3])
    view = x[:, 1:3]
    assert _pointer(view, 1) == (x.data_ptr(), "ptr") and _pointer(x, 0) is x
