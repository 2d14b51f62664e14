"""fxc's Triton backend on a GPU vs eager and torch.compile, in one run.

    python benchmarks/bench_triton.py

fp16 GEMM 4096^3, int8 GEMM (out_dtype, vs torch._int_mm), fused
elementwise on 64M floats, softmax 8192x8192.  Without CUDA it prints a
message and exits 0.
"""

import sys

import torch
from torch._higher_order_ops.out_dtype import out_dtype

import fxc


class Fn(torch.nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, *a):
        return self.fn(*a)


def timed(fn, *args, reps=20):
    fn(*args)
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(reps):
        fn(*args)
    end.record()
    torch.cuda.synchronize()
    return start.elapsed_time(end) / reps


def main():
    if not torch.cuda.is_available():
        print("bench_triton: no CUDA device here; run it on a GPU machine")
        return 0
    dev = "cuda"
    cases = {
        "fp16 GEMM 4096^3": (lambda a, b: a @ b, (torch.randn(4096, 4096, device=dev, dtype=torch.half),) * 2),
        "int8 GEMM 4096^3": (lambda a, b: out_dtype(torch.ops.aten.mm.default, torch.int32, a, b),
                             (torch.randint(-128, 127, (4096, 4096), device=dev, dtype=torch.int8),) * 2),
        "elementwise 64M": (lambda x: torch.relu(x * 2 + 1).sigmoid(), (torch.randn(64 << 20, device=dev),)),
        "softmax 8192^2": (lambda x: torch.softmax(x, -1), (torch.randn(8192, 8192, device=dev),)),
    }
    print(f"{'case':20s} {'eager ms':>10s} {'inductor ms':>12s} {'fxc ms':>10s}")
    for name, (fn, args) in cases.items():
        m = Fn(fn)
        cpu_args = tuple(a.cpu() for a in args)
        compiled = fxc.compile(m, cpu_args, target="triton")
        eager = timed(m, *args)
        inductor = timed(torch.compile(m), *args)
        ours = timed(compiled, *args)
        print(f"{name:20s} {eager:10.3f} {inductor:12.3f} {ours:10.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
