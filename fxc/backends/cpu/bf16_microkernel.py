"""The AVX-512 BF16 GEMM micro-kernel that fxc-lower-bf16-matmul calls, as MLIR text.

``C[M,N] (+)= A[M,K] @ B[K,N]`` with bf16 ``A``/``B`` and an f32 ``C``
(what a matmul under ``torch.autocast("cpu", torch.bfloat16)`` computes
before rounding its result to bf16), with ``vdpbf16ps``: each f32 lane of
a zmm register adds the products of two pairs of bf16 numbers
(``a0*b0 + a1*b1``, products exact in f32, denormals flushed), i.e. 32
multiply-adds per instruction, twice the f32 FMA's.

Both operands are packed in "pairs along K" layout, as the int8 kernels
(:mod:`fxc.backends.cpu.int8_microkernel`), two consecutive K elements
sharing one 32-bit lane (``KP = ceil(K/2)``, odd K padded with zero):

* ``Ap[i, k] = A[i, k]`` (``memref<Mp x 2KP x bf16>``, ``Mp`` = M rounded
  up to MR, padding rows and column zero): a K pair of a row is one i32,
  broadcast to every lane;
* ``Bp[nb, kp, 2j + t] = B[2kp + t, NR*nb + j]`` (``memref<NB x KP x 2NR x
  bf16>``: one NR-column panel per ``nb``, zero past N and K), packed from
  B, or from its transpose ``Bt[N, K]`` (``linear``'s weight: a row of it
  holds the K pairs adjacent, so each pair is one 32-bit move).

The register tile is MR rows x NR = 16*NV columns: MR*NV zmm accumulators,
NV zmm of B and one broadcast of A per K pair; the K loop compiles to 2
loads, 8 broadcasts and 16 ``vdpbf16ps``.  On Zen 4 (2 threads, a shared,
noisy machine) 8x32 (MR=8, NV=2), 6x64, 12x32 and 4x64 tiles were all
within noise of one another on 64x512x512 and 512^3.  Tiles (N panel, row tile)
form one panel-major ``scf.parallel`` nest, as in the int8 kernels, and
the packing runs rows of A and panels of B in parallel when they are large.
A batch matmul packs every batch first and runs one nest over (batch, N
panel, row tile): one fork/join per batch matmul, not one per batch (32
batches of 64x64x64, 2 threads: 212 us the latter way, 76 us this way).
The accumulators are added to C once (masked on the N edge, guarded on the
M edge), or overwrite it (``%acc`` false: the matmul's output was only
zero-filled, and fxc-lower-bf16-matmul dropped the fill).
"""

from __future__ import annotations

from fxc.backends.cpu.int8_microkernel import drivers
from fxc.backends.cpu.int8_vnni_microkernel import (
    PARALLEL_PACK_BYTES,
    _maybe_parallel,
    broadcast_group,
    edge_mask,
    store_tile,
)

MR = 8
NV = 2  # zmm vectors per B panel row
VEC = 16  # f32 lanes of one zmm register
NR = VEC * NV

A_TYPE = "memref<?x?xbf16, strided<[?, 1], offset: ?>>"
C_TYPE = "memref<?x?xf32, strided<[?, 1], offset: ?>>"
#: 3-d operands of ``run_batch``, by element type.
BATCH_TYPES = {e: f"memref<?x?x?x{e}, strided<[?, ?, 1], offset: ?>>" for e in ("bf16", "f32")}
AP_TYPE = "memref<?x?xbf16>"
BP_TYPE = f"memref<?x?x{2 * NR}xbf16>"

_DPBF16PS = '"llvm.x86.avx512bf16.dpbf16ps.512"'
_VTY = f"vector<{VEC}xf32>"
_BTY = f"vector<{2 * VEC}xbf16>"

#: Packed K: pairs (``%KP``), and the padded length of a packed A row (``%K2``).
_PACKED_K = """
    %KP = arith.ceildivui %K, %c2 : index
    %K2 = arith.muli %KP, %c2 : index"""

_CONSTANTS = f"""
    %c0 = arith.constant 0 : index
    %cbig = arith.constant {PARALLEL_PACK_BYTES} : index
    %c1 = arith.constant 1 : index
    %c2 = arith.constant 2 : index
    %c32 = arith.constant 32 : index
    %c0_bf16 = arith.constant 0.0 : bf16"""


class _Form:
    """Types and indexing of one form of the functions: 2-d operands
    (``linalg.matmul``), or 3-d ones (``linalg.batch_matmul``), whose batch
    index ``%bb`` leads every index (``bi``) and shifts every dim (``d``)."""

    def __init__(self, batched: bool):
        self.batched = batched
        self.suffix = "_batch" if batched else ""
        self.bi, self.d = ("%bb, ", 1) if batched else ("", 0)
        lead = "?x" if batched else ""
        self.a = BATCH_TYPES["bf16"] if batched else A_TYPE
        self.c = BATCH_TYPES["f32"] if batched else C_TYPE
        self.ap = f"memref<{lead}?x?xbf16>"
        self.bp = f"memref<{lead}?x?x{2 * NR}xbf16>"

    def dim(self, value: str, i: int, ty: str) -> str:
        return f"memref.dim {value}, %c{i + self.d} : {ty}"

    def rows(self, iv: str, count: str) -> str:
        """Splits the flat loop index ``%r`` (batch-major) into ``%bb`` and ``iv`` (``count`` per batch)."""
        return f"""
      %bb = arith.divui %r, {count} : index
      {iv} = arith.remui %r, {count} : index"""


def _dpbf16ps(out: str, acc: str, a: str, b: str) -> str:
    return f"{out} = llvm.call_intrinsic {_DPBF16PS}({acc}, {a}, {b}) : ({_VTY}, {_BTY}, {_BTY}) -> {_VTY}"


def _load_or_zero(f: _Form, ok: str, row: str, col: str, out: str, src: str = "%A") -> str:
    return f"""
          {out} = scf.if {ok} -> bf16 {{
            %x = memref.load {src}[{f.bi}{row}, {col}] : {f.a}
            scf.yield %x : bf16
          }} else {{
            scf.yield %c0_bf16 : bf16
          }}"""


def _pack_a(name: str, f: _Form) -> str:
    body = f"""{f.rows("%i", "%Mp")}
      %inb = arith.cmpi ult, %i, %M : index
      scf.if %inb {{
        scf.for %k = %c0 to %K32 step %c32 {{
          %v = vector.load %A[{f.bi}%i, %k] : {f.a}, vector<32xbf16>
          vector.store %v, %Ap[{f.bi}%i, %k] : {f.ap}, vector<32xbf16>
        }}
        scf.for %k = %K32 to %K2 step %c1 {{
          %kin = arith.cmpi ult, %k, %K : index{_load_or_zero(f, "%kin", "%i", "%k", "%a")}
          memref.store %a, %Ap[{f.bi}%i, %k] : {f.ap}
        }}
      }} else {{
        scf.for %k = %c0 to %K2 step %c1 {{
          memref.store %c0_bf16, %Ap[{f.bi}%i, %k] : {f.ap}
        }}
      }}"""
    return f"""
  func.func private @{name}(%A: {f.a}, %Ap: {f.ap}) {{{_CONSTANTS}
    %nbatch = {f.dim("%A", -1, f.a) if f.batched else "arith.constant 1 : index"}
    %M = {f.dim("%A", 0, f.a)}
    %K = {f.dim("%A", 1, f.a)}
    %Mp = {f.dim("%Ap", 0, f.ap)}
    %K2 = {f.dim("%Ap", 1, f.ap)}
    %K32d = arith.divui %K, %c32 : index
    %K32 = arith.muli %K32d, %c32 : index
    %R = arith.muli %nbatch, %Mp : index
    %elems = arith.muli %R, %K2 : index
    %bytes = arith.muli %elems, %c2 : index
    %big = arith.cmpi uge, %bytes, %cbig : index
    {_maybe_parallel("%r", "%R", body, "%big")}
    return
  }}"""


def _edge_pairs(f: _Form, k0: str, k1: str, k1_in: str, transposed: bool) -> str:
    """One K pair ``(k0, k1)`` of a panel's NR columns, element by element,
    zero past ``%N`` and where ``k1_in`` is false: B's edges (its
    transpose's where ``transposed``)."""
    def at(k):
        return ("%n", k) if transposed else (k, "%n")
    return f"""
          scf.for %j = %c0 to %cNR step %c1 {{
            %n = arith.addi %n0, %j : index
            %nin = arith.cmpi ult, %n, %N : index
            %both = arith.andi %nin, {k1_in} : i1{_load_or_zero(f, "%nin", *at(k0), "%b0", "%B")}{_load_or_zero(f, "%both", *at(k1), "%b1", "%B")}
            %j2 = arith.muli %j, %c2 : index
            %j21 = arith.addi %j2, %c1 : index
            memref.store %b0, %Bp[{f.bi}%nb, %kp, %j2] : {f.bp}
            memref.store %b1, %Bp[{f.bi}%nb, %kp, %j21] : {f.bp}
          }}"""


def _pack_b(name: str, f: _Form) -> str:
    pairs = ", ".join(f"{j}, {j + NR}" for j in range(NR))
    body = f"""{f.rows("%nb", "%NB")}
      %n0 = arith.muli %nb, %cNR : index
      %nend = arith.addi %n0, %cNR : index
      %nfull = arith.cmpi ule, %nend, %N : index
      scf.for %kp = %c0 to %KP step %c1 {{
        %k0 = arith.muli %kp, %c2 : index
        %k1 = arith.addi %k0, %c1 : index
        %kin = arith.cmpi ult, %k1, %K : index
        %full = arith.andi %nfull, %kin : i1
        scf.if %full {{
          %r0 = vector.load %B[{f.bi}%k0, %n0] : {f.a}, vector<{NR}xbf16>
          %r1 = vector.load %B[{f.bi}%k1, %n0] : {f.a}, vector<{NR}xbf16>
          %il = vector.shuffle %r0, %r1 [{pairs}] : vector<{NR}xbf16>, vector<{NR}xbf16>
          vector.store %il, %Bp[{f.bi}%nb, %kp, %c0] : {f.bp}, vector<{2 * NR}xbf16>
        }} else {{
{_edge_pairs(f, "%k0", "%k1", "%kin", transposed=False)}
        }}
      }}"""
    return f"""
  func.func private @{name}(%B: {f.a}, %Bp: {f.bp}) {{{_CONSTANTS}
    %cNR = arith.constant {NR} : index
    %cpanel = arith.constant {4 * NR} : index
    %nbatch = {f.dim("%B", -1, f.a) if f.batched else "arith.constant 1 : index"}
    %K = {f.dim("%B", 0, f.a)}
    %N = {f.dim("%B", 1, f.a)}
    %NB = {f.dim("%Bp", 0, f.bp)}
    %KP = {f.dim("%Bp", 1, f.bp)}
    %R = arith.muli %nbatch, %NB : index
    %rows = arith.muli %R, %KP : index
    %bytes = arith.muli %rows, %cpanel : index
    %big = arith.cmpi uge, %bytes, %cbig : index
    {_maybe_parallel("%r", "%R", body, "%big")}
    return
  }}"""


def _pack_bt(name: str) -> str:
    """Packs B from its transpose ``Bt[N, K]`` (a ``linear``'s weight),
    whose K pairs are already adjacent: each 32-bit pair of a row of Bt goes
    to its lane of the panel, 16 pairs per vector load of a row."""
    pairs = "\n".join(
        f"            %p{l} = vector.extract_strided_slice %v {{offsets = [{2 * l}], sizes = [2], strides = [1]}} "
        f": vector<32xbf16> to vector<2xbf16>\n"
        f"            %kp{l} = arith.addi %kc, %c{l}r : index\n"
        f"            vector.store %p{l}, %Bp[%nb, %kp{l}, %j2] : {BP_TYPE}, vector<2xbf16>" for l in range(16))
    f = _Form(False)
    body = f"""
      %nb = arith.addi %r, %c0 : index
      %n0 = arith.muli %nb, %cNR : index
      %nend = arith.addi %n0, %cNR : index
      %nfull = arith.cmpi ule, %nend, %N : index
      scf.for %kc = %c0 to %KP step %c16r {{
        %k0 = arith.muli %kc, %c2 : index
        %kend = arith.addi %k0, %c32 : index
        %kin = arith.cmpi ule, %kend, %K : index
        %full = arith.andi %nfull, %kin : i1
        scf.if %full {{
          scf.for %j = %c0 to %cNR step %c1 {{
            %n = arith.addi %n0, %j : index
            %j2 = arith.muli %j, %c2 : index
            %v = vector.load %B[%n, %k0] : {A_TYPE}, vector<32xbf16>
{pairs}
          }}
        }} else {{
          %kcend = arith.addi %kc, %c16r : index
          %kpend = arith.minui %kcend, %KP : index
          scf.for %kp = %kc to %kpend step %c1 {{
            %ka = arith.muli %kp, %c2 : index
            %kb = arith.addi %ka, %c1 : index
            %kbin = arith.cmpi ult, %kb, %K : index{_edge_pairs(f, "%ka", "%kb", "%kbin", transposed=True)}
          }}
        }}
      }}"""
    consts = "\n    ".join(f"%c{c}r = arith.constant {c} : index" for c in range(17))
    return f"""
  func.func private @{name}(%B: {A_TYPE}, %Bp: {BP_TYPE}) {{{_CONSTANTS}
    {consts}
    %cNR = arith.constant {NR} : index
    %cpanel = arith.constant {4 * NR} : index
    %N = memref.dim %B, %c0 : {A_TYPE}
    %K = memref.dim %B, %c1 : {A_TYPE}
    %NB = memref.dim %Bp, %c0 : {BP_TYPE}
    %KP = memref.dim %Bp, %c1 : {BP_TYPE}
    %rows = arith.muli %NB, %KP : index
    %bytes = arith.muli %rows, %cpanel : index
    %big = arith.cmpi uge, %bytes, %cbig : index
    {_maybe_parallel("%r", "%NB", body, "%big")}
    return
  }}"""


def _kernel(name: str, f: _Form) -> str:
    accs = [(r, v) for r in range(MR) for v in range(NV)]
    tys = ", ".join([_VTY] * len(accs))
    body = ["%k = arith.muli %kp, %c2 : index"]
    for v in range(NV):
        body.append(f"%b{v} = vector.load %Bp[{f.bi}%nb, %kp, %c{2 * VEC * v}r] : {f.bp}, {_BTY}")
    for r in range(MR):
        body += broadcast_group(r, f"%Ap[{f.bi}%ir{r}, %k] : {f.ap}", "vector<2xbf16>", _BTY)
        body += [_dpbf16ps(f"%s{r}_{v}", f"%acc{r}_{v}", f"%a{r}", f"%b{v}") for v in range(NV)]
    body.append(f"scf.yield {', '.join(f'%s{r}_{v}' for r, v in accs)} : {tys}")
    masks = [line for v in range(NV) for line in edge_mask(v, VEC)]
    epilogue = store_tile(MR, NV, VEC, f.c, "arith.addf", f.bi)
    consts = "\n    ".join(f"%c{c}r = arith.constant {c} : index"
                           for c in sorted({*range(MR), NR, *range(0, NR, VEC), *range(0, 2 * NR, 2 * VEC)}))
    iter_args = ", ".join(f"%acc{r}_{v} = %zero" for r, v in accs)
    ivs = ("%bb, " if f.batched else "") + "%nb, %mb"
    zeros, ones = (", ".join([c] * (2 + f.d)) for c in ("%c0", "%c1"))
    nl = "\n      "
    ind = "\n        "
    return f"""
  func.func private @{name}(%Ap: {f.ap}, %Bp: {f.bp}, %C: {f.c}, %acc: i1) {{{_CONSTANTS}
    {consts}
    %cMR = arith.constant {MR} : index
    %zero = arith.constant dense<0.0> : {_VTY}
    %nbatch = {f.dim("%C", -1, f.c) if f.batched else "arith.constant 1 : index"}
    %M = {f.dim("%C", 0, f.c)}
    %N = {f.dim("%C", 1, f.c)}
    %Mp = {f.dim("%Ap", 0, f.ap)}
    %NB = {f.dim("%Bp", 0, f.bp)}
    %KP = {f.dim("%Bp", 1, f.bp)}
    %MB = arith.divui %Mp, %cMR : index
    scf.parallel ({ivs}) = ({zeros}) to ({"%nbatch, " if f.batched else ""}%NB, %MB) step ({ones}) {{
      %n0 = arith.muli %nb, %c{NR}r : index
      %i0 = arith.muli %mb, %cMR : index
      {nl.join(masks)}
      %t:{len(accs)} = scf.for %kp = %c0 to %KP step %c1 iter_args({iter_args}) -> ({tys}) {{
        {ind.join(body)}
      }}
      {nl.join(epilogue)}
      scf.reduce
    }}
    return
  }}"""


def _batch_driver(names: dict, f: _Form) -> str:
    """``run_batch``: packs every batch of A and B (``linalg.batch_matmul``),
    then one parallel nest over (batch, N panel, row tile)."""
    return f"""
  func.func private @{names['run_batch']}(%A: {f.a}, %B: {f.a}, %C: {f.c}, %acc: i1) {{{_CONSTANTS}
    %cMR = arith.constant {MR} : index
    %cNR = arith.constant {NR} : index
    %nbatch = {f.dim("%A", -1, f.a)}
    %M = {f.dim("%A", 0, f.a)}
    %K = {f.dim("%A", 1, f.a)}
    %N = {f.dim("%B", 1, f.a)}
    %MB = arith.ceildivui %M, %cMR : index
    %Mp = arith.muli %MB, %cMR : index
    %NB = arith.ceildivui %N, %cNR : index{_PACKED_K}
    %Ap = memref.alloc(%nbatch, %Mp, %K2) {{alignment = 64 : i64}} : {f.ap}
    %Bp = memref.alloc(%nbatch, %NB, %KP) {{alignment = 64 : i64}} : {f.bp}
    func.call @{names['pack_a']}{f.suffix}(%A, %Ap) : ({f.a}, {f.ap}) -> ()
    func.call @{names['pack_b']}{f.suffix}(%B, %Bp) : ({f.a}, {f.bp}) -> ()
    func.call @{names['kernel']}{f.suffix}(%Ap, %Bp, %C, %acc) : ({f.ap}, {f.bp}, {f.c}, i1) -> ()
    memref.dealloc %Ap : {f.ap}
    memref.dealloc %Bp : {f.bp}
    return
  }}"""


class Bf16Kernel:
    """The ``vdpbf16ps`` kernel, as fxc-lower-bf16-matmul uses it.

    Attributes:
        name: the variant's name (the pass's ``kernel`` option).
        prefix: prefix of its function symbols.
        features: host CPU features its code needs.
    """

    name = "avx512bf16"
    prefix = "fxc_bf16mm"
    features = ("avx512f", "avx512bw", "avx512_bf16")
    a_type = A_TYPE
    c_type = C_TYPE
    bp_type = BP_TYPE

    def func_names(self) -> dict:
        p = self.prefix
        return {"pack_a": f"{p}_pack_a", "pack_b": f"{p}_pack_b", "kernel": f"{p}_kernel",
                "run": p, "run_cached": f"{p}_cached", "run_batch": f"{p}_batch"}

    def transposed_b_names(self) -> dict:
        """Names of the drivers that take B transposed (``Bt[N, K]``)."""
        names = self.func_names()
        return {**names, "pack_b": f"{self.prefix}_pack_bt", "run": f"{self.prefix}_bt",
                "run_cached": f"{self.prefix}_cached_bt"}

    def packed_b_type(self, k: int, n: int) -> str:
        """The static type of B's packed form (for a module global)."""
        return f"memref<{-(-n // NR)}x{-(-k // 2)}x{2 * NR}xbf16>"

    def kernel_module(self) -> str:
        """A module holding the kernel, packing and driver functions."""
        names = self.func_names()
        parts = [fn(names[role] + f.suffix, f) for f in (_Form(False), _Form(True))
                 for fn, role in ((_kernel, "kernel"), (_pack_a, "pack_a"), (_pack_b, "pack_b"))]
        tnames = self.transposed_b_names()
        parts.append(_pack_bt(tnames["pack_b"]))
        for n, b_n_dim in ((names, "%c1"), (tnames, "%c0")):
            parts.append(drivers(n, constants=_CONSTANTS, mr=MR, nr=NR, ap_type=AP_TYPE, bp_type=BP_TYPE,
                                 packed_k=_PACKED_K, a_cols="%K2", b_rows="%KP", a_type=A_TYPE, c_type=C_TYPE,
                                 b_n_dim=b_n_dim))
        return "module {" + "".join(parts) + _batch_driver(names, _Form(True)) + "\n}\n"


AVX512BF16 = Bf16Kernel()
