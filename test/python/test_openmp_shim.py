"""The __kmpc-on-libgomp shim (fxc/backends/cpu/kmpc_on_gomp.c): every
iteration of a static loop runs exactly once, on PyTorch's libgomp threads,
and compiled parallel loops use it (no second OpenMP runtime)."""

import os
import shutil
import subprocess
import sys
import textwrap

import pytest
import torch

import fxc
from fxc.backends.cpu import openmp
from fxc.backends.cpu.backend import CpuBackend

pytestmark = pytest.mark.skipif(openmp.runtime_library() is None, reason="this PyTorch has no OpenMP")

# Calls the shim as OpenMPIRBuilder's code does: fork, then per thread
# static_init over [lo, hi]; prints "thread first last lastiter" for each
# block a thread runs (chunked schedules step by the returned stride).
HARNESS = textwrap.dedent(r"""
    #include <stdint.h>
    #include <stdio.h>
    #include <stdlib.h>
    void __kmpc_fork_call(void *loc, int32_t argc, void *microtask, ...);
    void __kmpc_for_static_init_8u(void *, int32_t, int32_t, int32_t *, uint64_t *, uint64_t *, int64_t *, int64_t, int64_t);
    void __kmpc_for_static_init_4(void *, int32_t, int32_t, int32_t *, int32_t *, int32_t *, int32_t *, int32_t, int32_t);
    void __kmpc_barrier(void *, int32_t);
    int omp_get_num_threads(void);
    struct job { int64_t lo, hi, chunk; int sched, is_signed; };
    static void body(int32_t *gtid, int32_t *btid, struct job *j) {
      int32_t last = 0;
      if (j->is_signed) {
        int32_t lo = (int32_t)j->lo, hi = (int32_t)j->hi, st = 0;
        __kmpc_for_static_init_4(0, *gtid, j->sched, &last, &lo, &hi, &st, 1, (int32_t)j->chunk);
        for (int64_t b = lo; b <= (int64_t)j->hi; b += (st ? st : (int64_t)j->hi + 1)) {
          int64_t e = j->sched == 34 ? hi : (b + j->chunk - 1 < j->hi ? b + j->chunk - 1 : j->hi);
          if (b <= e) printf("%d %lld %lld %d %d\n", *gtid, (long long)b, (long long)e, last, omp_get_num_threads());
          if (j->sched == 34) break;
        }
      } else {
        uint64_t lo = (uint64_t)j->lo, hi = (uint64_t)j->hi; int64_t st = 0;
        __kmpc_for_static_init_8u(0, *gtid, j->sched, &last, &lo, &hi, &st, 1, j->chunk);
        for (uint64_t b = lo; b <= (uint64_t)j->hi; b += (uint64_t)st) {
          uint64_t e = j->sched == 34 ? hi : (b + j->chunk - 1 < (uint64_t)j->hi ? b + j->chunk - 1 : (uint64_t)j->hi);
          if (b <= e) printf("%d %llu %llu %d %d\n", *gtid, (unsigned long long)b, (unsigned long long)e, last, omp_get_num_threads());
          if (j->sched == 34) break;
        }
      }
      fflush(stdout);
      __kmpc_barrier(0, *gtid);
    }
    int main(int argc, char **argv) {
      struct job j = {atoll(argv[1]), atoll(argv[2]), atoll(argv[3]), atoi(argv[4]), atoi(argv[5])};
      __kmpc_fork_call(0, 1, (void *)body, &j);
      return 0;
    }
""")


@pytest.fixture(scope="module")
def harness(tmp_path_factory):
    cc = shutil.which(os.environ.get("CC", "cc"))
    if cc is None:
        pytest.skip("no C compiler")
    d = tmp_path_factory.mktemp("kmpc")
    (d / "harness.c").write_text(HARNESS)
    exe = d / "harness"
    lib = openmp.runtime_library()
    subprocess.run([cc, "-O1", "-o", str(exe), str(d / "harness.c"), openmp.SHIM_SOURCE, lib,
                    f"-Wl,-rpath,{os.path.dirname(lib)}"], check=True)
    return exe


@pytest.mark.parametrize("threads", [1, 2, 3, 5])
@pytest.mark.parametrize("lo,hi,chunk,sched", [
    (0, 0, 0, 34), (0, 1, 0, 34), (0, 2, 0, 34), (0, 99, 0, 34), (7, 1030, 0, 34),
    (0, 99, 8, 33), (3, 4, 8, 33), (0, 1023, 16, 33),
])
@pytest.mark.parametrize("signed", [0, 1])
def test_static_schedule_runs_every_iteration_once(harness, threads, lo, hi, chunk, sched, signed):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    out = subprocess.run([str(harness), str(lo), str(hi), str(chunk), str(sched), str(signed)],
                         capture_output=True, text=True, env=env, check=True).stdout
    seen, last_owners, tids = [], set(), set()
    for line in out.split("\n"):
        if not line:
            continue
        tid, first, last, is_last, nth = map(int, line.split())
        assert nth == threads
        tids.add(tid)
        seen.extend(range(first, last + 1))
        if is_last:
            last_owners.add(tid)
        if hi in range(first, last + 1):
            assert is_last, f"thread {tid} runs the last iteration but was not told"
    assert sorted(seen) == list(range(lo, hi + 1))
    assert len(last_owners) == 1
    if sched == 34 and hi - lo + 1 >= threads:
        assert len(tids) == threads  # balanced: every thread has work


def test_compiled_loops_run_on_pytorchs_threads():
    if not CpuBackend.Options().openmp:
        pytest.skip("parallel loops are off")
    code = textwrap.dedent("""
        import torch, fxc
        a, b = torch.randn(512, 512), torch.randn(512, 512)
        x = torch.randn(1024, 1024)
        mm = fxc.compile(lambda a, b: a @ b, (a, b))
        sm = fxc.compile(lambda x: torch.softmax(x, -1), (x,))
        for n in (1, 2, 3):
            torch.set_num_threads(n)
            torch.testing.assert_close(mm(a, b), a @ b, rtol=1e-4, atol=1e-3)
            torch.testing.assert_close(sm(x), torch.softmax(x, -1))
        maps = open("/proc/self/maps").read()
        assert "libiomp" not in maps and "libomp.so" not in maps, "a second OpenMP runtime was loaded"
        print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_softmax_rows_are_split_over_threads():
    # The generic's outer (row) dimension becomes an scf.forall, and the
    # parallel region reaches the LLVM dialect.
    x = torch.randn(1024, 1024)
    compiled = fxc.compile(lambda x: torch.softmax(x, -1), (x,), options=CpuBackend.Options(openmp=True))
    assert "omp.wsloop" in compiled.ir("llvm")
    serial = fxc.compile(lambda x: torch.softmax(x, -1), (x,), options=CpuBackend.Options(openmp=False))
    assert "omp." not in serial.ir("llvm")
    torch.testing.assert_close(compiled(x), serial(x))
