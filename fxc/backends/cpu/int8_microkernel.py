"""The int8 GEMM micro-kernel that fxc-lower-int8-matmul calls, as MLIR text.

``C[M,N] += A[M,K] @ B[K,N]`` with 8-bit ``A``/``B`` (both signed or both
unsigned) and an i32 ``C``, computed exactly (wrapping i32 accumulation, as
eager) with the AVX2 instruction ``vpmaddwd``: each 32-bit lane multiplies
two pairs of 16-bit numbers and adds both products into one i32
(``a0*b0 + a1*b1``, at most ``2 * 128 * 128`` in magnitude, so never
saturates), i.e. 16 multiply-adds per instruction.

Both operands are packed in "pairs along K" layout, 8-bit values widened to
16 bits (sign or zero extension, matching the matmul's ``cast``) and two
consecutive K elements sharing one i32:

* ``Ap[i, kp]  = A[i, 2kp] | A[i, 2kp+1] << 16``  (``memref<Mp x KP x i32>``,
  ``Mp`` = M rounded up to the MR rows of a tile, padding rows zero);
* ``Bp[nb, kp, j] = B[2kp, NR*nb+j] | B[2kp+1, NR*nb+j] << 16``
  (``memref<NB x KP x NR x i32>``: one NR-column panel per ``nb``,
  zero-padded past N and K).

The register tile is MR=6 rows x NR=16 columns: 12 ymm accumulators, 2 ymm
of B and one broadcast of A per K pair (LLVM spills a few accumulators, as
vpmaddwd needs a temporary).  On Zen 3, one thread, 512^3, best thread CPU
time: 6x16 ~2.3 ms, 4x24 ~3.2 ms (although llvm-mca predicts 4x24 ~15%
faster); 4x16 and 5x16 were slower than 6x16 too.  The tiles (N panel, row
tile) form one panel-major ``scf.parallel`` nest, so a thread's contiguous
share keeps reusing one B panel.  The K loop keeps the accumulators in
registers and adds them to C once (masked on the N edge, guarded on the M
edge), or overwrites C when the caller says so (``%acc`` false: the
matmul's output was only zero-filled, and fxc-lower-int8-matmul dropped the
fill).

A constant ``B`` (a weight) is packed once, on the first call, into a
module global (``@..._cached`` variant); otherwise B is packed per call.

Two variants share this layout and tiling (:class:`PairKernel`): ``AVX2``
calls the intrinsic, ``PORTABLE`` writes ``vpmaddwd``'s arithmetic as plain
vector ops (widen to i32, multiply, add even and odd lanes), which any LLVM
target vectorizes (x86 with SSE2 selects ``pmaddwd`` for it).  The VNNI
kernel lives in :mod:`fxc.backends.cpu.int8_vnni_microkernel`.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Tuple

MR = 6
NR = 16
VEC = 8  # i32 lanes of one ymm register

A_TYPE = "memref<?x?xi8, strided<[?, 1], offset: ?>>"
C_TYPE = "memref<?x?xi32, strided<[?, 1], offset: ?>>"
AP_TYPE = "memref<?x?xi32>"
BP_TYPE = f"memref<?x?x{NR}xi32>"
FLAG_TYPE = "memref<i32>"

_PMADDWD = '"llvm.x86.avx2.pmadd.wd"'


def func_names(signed: bool, prefix: str = "fxc_i8mm") -> dict:
    """Symbol names of the kernel functions for one signedness."""
    s = "s8" if signed else "u8"
    return {
        "pack_a": f"{prefix}_pack_a_{s}",
        "pack_b": f"{prefix}_pack_b_{s}",
        "kernel": f"{prefix}_kernel",
        "kernel_raw": f"{prefix}_kernel_raw",
        "run": f"{prefix}_{s}",
        "run_cached": f"{prefix}_cached_{s}",
    }


def packed_b_shape(k: int, n: int) -> tuple:
    """The static shape of B's packed form (for a module global)."""
    return (-(-n // NR), -(-k // 2), NR)


def _pair(ext: str, a0: str, a1: str, out: str) -> str:
    """i32 holding 16-bit ``a0`` (low half) and ``a1`` (high half)."""
    return f"""
      {out}_e0 = arith.{ext} {a0} : i8 to i32
      {out}_e1 = arith.{ext} {a1} : i8 to i32
      {out}_lo = arith.andi {out}_e0, %c65535_i32 : i32
      {out}_hi = arith.shli {out}_e1, %c16_i32 : i32
      {out} = arith.ori {out}_hi, {out}_lo : i32"""


_CONSTANTS = f"""
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c2 = arith.constant 2 : index
    %c8 = arith.constant 8 : index
    %c16 = arith.constant 16 : index
    %cNR = arith.constant {NR} : index
    %c0_i8 = arith.constant 0 : i8
    %c0_i32 = arith.constant 0 : i32
    %c16_i32 = arith.constant 16 : i32
    %c65535_i32 = arith.constant 65535 : i32"""


def _pack_a(name: str, ext: str) -> str:
    return f"""
  func.func private @{name}(%A: {A_TYPE}, %Ap: {AP_TYPE}) {{{_CONSTANTS}
    %M = memref.dim %A, %c0 : {A_TYPE}
    %K = memref.dim %A, %c1 : {A_TYPE}
    %Mp = memref.dim %Ap, %c0 : {AP_TYPE}
    %KP = memref.dim %Ap, %c1 : {AP_TYPE}
    %K16 = arith.divui %K, %c16 : index
    %KPv = arith.muli %K16, %c8 : index
    scf.for %i = %c0 to %Mp step %c1 {{
      %inb = arith.cmpi ult, %i, %M : index
      scf.if %inb {{
        scf.for %kp = %c0 to %KPv step %c8 {{
          %k = arith.muli %kp, %c2 : index
          %v = vector.load %A[%i, %k] : {A_TYPE}, vector<16xi8>
          %w = arith.{ext} %v : vector<16xi8> to vector<16xi16>
          %p = vector.bitcast %w : vector<16xi16> to vector<8xi32>
          vector.store %p, %Ap[%i, %kp] : {AP_TYPE}, vector<8xi32>
        }}
        scf.for %kp = %KPv to %KP step %c1 {{
          %k0 = arith.muli %kp, %c2 : index
          %k1 = arith.addi %k0, %c1 : index
          %a0 = memref.load %A[%i, %k0] : {A_TYPE}
          %in1 = arith.cmpi ult, %k1, %K : index
          %a1 = scf.if %in1 -> i8 {{
            %x = memref.load %A[%i, %k1] : {A_TYPE}
            scf.yield %x : i8
          }} else {{
            scf.yield %c0_i8 : i8
          }}{_pair(ext, "%a0", "%a1", "%pr")}
          memref.store %pr, %Ap[%i, %kp] : {AP_TYPE}
        }}
      }} else {{
        scf.for %kp = %c0 to %KP step %c1 {{
          memref.store %c0_i32, %Ap[%i, %kp] : {AP_TYPE}
        }}
      }}
    }}
    return
  }}"""


def _load_or_zero(ok: str, row: str, col: str, out: str) -> str:
    return f"""
            {out} = scf.if {ok} -> i8 {{
              %x = memref.load %B[{row}, {col}] : {A_TYPE}
              scf.yield %x : i8
            }} else {{
              scf.yield %c0_i8 : i8
            }}"""


def _pack_b(name: str, ext: str) -> str:
    interleave = ", ".join(f"{j}, {j + NR}" for j in range(NR))
    return f"""
  func.func private @{name}(%B: {A_TYPE}, %Bp: {BP_TYPE}) {{{_CONSTANTS}
    %K = memref.dim %B, %c0 : {A_TYPE}
    %N = memref.dim %B, %c1 : {A_TYPE}
    %NB = memref.dim %Bp, %c0 : {BP_TYPE}
    %KP = memref.dim %Bp, %c1 : {BP_TYPE}
    scf.for %nb = %c0 to %NB step %c1 {{
      %n0 = arith.muli %nb, %cNR : index
      %nend = arith.addi %n0, %cNR : index
      %nfull = arith.cmpi ule, %nend, %N : index
      scf.for %kp = %c0 to %KP step %c1 {{
        %k0 = arith.muli %kp, %c2 : index
        %k1 = arith.addi %k0, %c1 : index
        %kin = arith.cmpi ult, %k1, %K : index
        %full = arith.andi %nfull, %kin : i1
        scf.if %full {{
          %r0 = vector.load %B[%k0, %n0] : {A_TYPE}, vector<{NR}xi8>
          %r1 = vector.load %B[%k1, %n0] : {A_TYPE}, vector<{NR}xi8>
          %e0 = arith.{ext} %r0 : vector<{NR}xi8> to vector<{NR}xi16>
          %e1 = arith.{ext} %r1 : vector<{NR}xi8> to vector<{NR}xi16>
          %il = vector.shuffle %e0, %e1 [{interleave}] : vector<{NR}xi16>, vector<{NR}xi16>
          %p = vector.bitcast %il : vector<{2 * NR}xi16> to vector<{NR}xi32>
          vector.store %p, %Bp[%nb, %kp, %c0] : {BP_TYPE}, vector<{NR}xi32>
        }} else {{
          scf.for %j = %c0 to %cNR step %c1 {{
            %n = arith.addi %n0, %j : index
            %nin = arith.cmpi ult, %n, %N : index
            %both = arith.andi %nin, %kin : i1{_load_or_zero("%nin", "%k0", "%n", "%b0")}{_load_or_zero("%both", "%k1", "%n", "%b1")}{_pair(ext, "%b0", "%b1", "%pr")}
            memref.store %pr, %Bp[%nb, %kp, %j] : {BP_TYPE}
          }}
        }}
      }}
    }}
    return
  }}"""


def _old_or_zero(out: str, row: str, col: str, mask: str, vty: str, lanes: int, c_type: str = C_TYPE) -> list:
    """The C tile that the kernel adds to: loaded when ``%acc``, else zero
    (C is overwritten: the matmul's zero fill was dropped)."""
    return [
        f"  {out} = scf.if %acc -> {vty} {{",
        f"    %ld = vector.maskedload %C[{row}, {col}], {mask}, %zero : {c_type}, vector<{lanes}xi1>, {vty} into {vty}",
        f"    scf.yield %ld : {vty}",
        "  } else {",
        f"    scf.yield %zero : {vty}",
        "  }",
    ]


def _avx2_madd(out: str, a: str, b: str) -> list:
    return [f"{out} = llvm.call_intrinsic {_PMADDWD}({a}, {b}) : (vector<16xi16>, vector<16xi16>) -> vector<{VEC}xi32>"]


def _portable_madd(out: str, a: str, b: str) -> list:
    """``vpmaddwd`` in target-independent vector ops."""
    even = ", ".join(str(i) for i in range(0, 2 * VEC, 2))
    odd = ", ".join(str(i) for i in range(1, 2 * VEC, 2))
    w = f"vector<{2 * VEC}xi32>"
    return [
        f"{out}_wa = arith.extsi {a} : vector<{2 * VEC}xi16> to {w}",
        f"{out}_wb = arith.extsi {b} : vector<{2 * VEC}xi16> to {w}",
        f"{out}_m = arith.muli {out}_wa, {out}_wb : {w}",
        f"{out}_e = vector.shuffle {out}_m, {out}_m [{even}] : {w}, {w}",
        f"{out}_o = vector.shuffle {out}_m, {out}_m [{odd}] : {w}, {w}",
        f"{out} = arith.addi {out}_e, {out}_o : vector<{VEC}xi32>",
    ]


def _kernel(name: str, madd: Callable[[str, str, str], list]) -> str:
    accs = [(r, v) for r in range(MR) for v in range(NR // VEC)]
    acc_names = [f"%acc{r}_{v}" for r, v in accs]
    vty = f"vector<{VEC}xi32>"
    iter_args = ", ".join(f"{a} = %zero" for a in acc_names)
    body = []
    for v in range(NR // VEC):
        body.append(f"%bv{v} = vector.load %Bp[%nb, %kp, %c{v * VEC}] : {BP_TYPE}, {vty}")
        body.append(f"%b{v} = vector.bitcast %bv{v} : {vty} to vector<16xi16>")
    for r in range(MR):
        body.append(f"%ir{r} = arith.addi %i0, %c{r} : index")
        body.append(f"%as{r} = memref.load %Ap[%ir{r}, %kp] : {AP_TYPE}")
        body.append(f"%av{r} = vector.broadcast %as{r} : i32 to {vty}")
        body.append(f"%a{r} = vector.bitcast %av{r} : {vty} to vector<16xi16>")
        for v in range(NR // VEC):
            body.extend(madd(f"%p{r}_{v}", f"%a{r}", f"%b{v}"))
            body.append(f"%s{r}_{v} = arith.addi %acc{r}_{v}, %p{r}_{v} : {vty}")
    body.append(f"scf.yield {', '.join(f'%s{r}_{v}' for r, v in accs)} : {', '.join([vty] * len(accs))}")
    epilogue = []
    for r in range(MR):
        epilogue.append(f"%row{r} = arith.addi %i0, %c{r} : index")
        epilogue.append(f"%inrow{r} = arith.cmpi ult, %row{r}, %M : index")
        epilogue.append(f"scf.if %inrow{r} {{")
        for v in range(NR // VEC):
            epilogue.extend(_old_or_zero(f"%old{r}_{v}", f"%row{r}", f"%col{v}", f"%mask{v}", vty, VEC))
            epilogue.append(f"  %new{r}_{v} = arith.addi %old{r}_{v}, %t#{r * (NR // VEC) + v} : {vty}")
            epilogue.append(
                f"  vector.maskedstore %C[%row{r}, %col{v}], %mask{v}, %new{r}_{v} : "
                f"{C_TYPE}, vector<{VEC}xi1>, {vty}"
            )
        epilogue.append("}")
    # Row offsets 0..MR-1 and column offsets of the ymm vectors, less those
    # _CONSTANTS already defines.
    offsets = sorted({*range(MR), *range(0, NR, VEC)} - {0, 1, 2, 8, 16})
    consts = "\n    ".join(f"%c{r} = arith.constant {r} : index" for r in offsets)
    masks = []
    for v in range(NR // VEC):
        masks.append(f"%col{v} = arith.addi %n0, %c{v * VEC} : index")
        masks.append(f"%left{v} = arith.subi %N, %col{v} : index")
        masks.append(f"%mask{v} = vector.create_mask %left{v} : vector<{VEC}xi1>")
    ind = "\n        "
    return f"""
  func.func private @{name}(%Ap: {AP_TYPE}, %Bp: {BP_TYPE}, %C: {C_TYPE}, %acc: i1) {{{_CONSTANTS}
    {consts}
    %c{MR}r = arith.constant {MR} : index
    %zero = arith.constant dense<0> : {vty}
    %M = memref.dim %C, %c0 : {C_TYPE}
    %N = memref.dim %C, %c1 : {C_TYPE}
    %Mp = memref.dim %Ap, %c0 : {AP_TYPE}
    %KP = memref.dim %Ap, %c1 : {AP_TYPE}
    %NB = memref.dim %Bp, %c0 : {BP_TYPE}
    %MB = arith.divui %Mp, %c{MR}r : index
    scf.parallel (%nb, %mb) = (%c0, %c0) to (%NB, %MB) step (%c1, %c1) {{
      %n0 = arith.muli %nb, %cNR : index
      {(chr(10) + '      ').join(masks)}
      %i0 = arith.muli %mb, %c{MR}r : index
      %t:{len(accs)} = scf.for %kp = %c0 to %KP step %c1 iter_args({iter_args}) -> ({', '.join([vty] * len(accs))}) {{
        {ind.join(body)}
      }}
      {(chr(10) + '      ').join(epilogue)}
      scf.reduce
    }}
    return
  }}"""


def drivers(names: dict, *, constants: str, mr: int, nr: int, ap_type: str, bp_type: str, packed_k: str,
            a_cols: str, b_rows: str, a_type: str = A_TYPE, c_type: str = C_TYPE, b_n_dim: str = "%c1",
            raw_a_when: str = "") -> str:
    """The entry functions of a packed GEMM kernel: ``run`` (pack B, pack
    A, multiply) and ``run_cached`` (B packed once into a caller-owned
    buffer, ``ready`` set after).  ``constants`` must define ``%c0`` and
    ``%c1``; ``packed_k`` computes the packed K sizes from ``%K``, and
    ``a_cols``/``b_rows`` name them for the allocations of A and B.
    ``a_type`` is the type of A and B (int8 by default), ``c_type`` C's;
    ``b_n_dim`` the index of B's N dim (``%c0`` where B comes transposed).

    With ``raw_a_when`` (MLIR lines defining ``%raw_a``, an i1, from ``%M``
    and ``%K``), A is not packed where ``%raw_a`` holds: ``names["kernel_raw"]``
    then reads A itself."""
    sizes = f"""{constants}
    %drv_mr = arith.constant {mr} : index
    %drv_nr = arith.constant {nr} : index
    %drv_zero = arith.constant 0 : i32
    %M = memref.dim %A, %c0 : {a_type}
    %K = memref.dim %A, %c1 : {a_type}
    %MB = arith.ceildivui %M, %drv_mr : index
    %Mp = arith.muli %MB, %drv_mr : index{packed_k}"""
    finish = f"""
    %Ap = memref.alloc(%Mp, {a_cols}) {{alignment = 64 : i64}} : {ap_type}
    func.call @{names['pack_a']}(%A, %Ap) : ({a_type}, {ap_type}) -> ()
    func.call @{names['kernel']}(%Ap, %Bp, %C, %acc) : ({ap_type}, {bp_type}, {c_type}, i1) -> ()
    memref.dealloc %Ap : {ap_type}"""
    if raw_a_when:
        finish = f"""{raw_a_when}
    scf.if %raw_a {{
      func.call @{names['kernel_raw']}(%A, %Bp, %C, %acc) : ({a_type}, {bp_type}, {c_type}, i1) -> ()
    }} else {{{finish}
    }}"""
    return f"""
  func.func private @{names['run']}(%A: {a_type}, %B: {a_type}, %C: {c_type}, %acc: i1) {{{sizes}
    %N = memref.dim %B, {b_n_dim} : {a_type}
    %NB = arith.ceildivui %N, %drv_nr : index
    %Bp = memref.alloc(%NB, {b_rows}) {{alignment = 64 : i64}} : {bp_type}
    func.call @{names['pack_b']}(%B, %Bp) : ({a_type}, {bp_type}) -> (){finish}
    memref.dealloc %Bp : {bp_type}
    return
  }}
  func.func private @{names['run_cached']}(%A: {a_type}, %B: {a_type}, %C: {c_type}, %acc: i1, %Bp: {bp_type}, %ready: {FLAG_TYPE}) {{{sizes}
    %flag = memref.load %ready[] : {FLAG_TYPE}
    %todo = arith.cmpi eq, %flag, %drv_zero : i32
    scf.if %todo {{
      func.call @{names['pack_b']}(%B, %Bp) : ({a_type}, {bp_type}) -> ()
      %one = arith.constant 1 : i32
      memref.store %one, %ready[] : {FLAG_TYPE}
    }}{finish}
    return
  }}"""


@dataclasses.dataclass(frozen=True)
class PairKernel:
    """One variant of the K-pair kernel, as fxc-lower-int8-matmul uses it.

    Attributes:
        name: the variant's name (the pass's ``kernel`` option).
        prefix: prefix of its function symbols.
        madd: writes one ``vpmaddwd`` (``out = madd(a, b)``) as MLIR lines.
        features: host CPU features its code needs.
    """

    name: str
    prefix: str
    madd: Callable[[str, str, str], list]
    features: Tuple[str, ...]

    bp_type = BP_TYPE

    def handles(self, signed: bool) -> bool:
        return True

    def func_names(self, signed: bool) -> dict:
        return func_names(signed, self.prefix)

    def packed_b_type(self, k: int, n: int) -> str:
        return "memref<" + "x".join(str(d) for d in packed_b_shape(k, n)) + "xi32>"

    def kernel_module(self, signed_kinds) -> str:
        """A module holding the kernel functions for the given signednesses."""
        parts = [_kernel(self.func_names(True)["kernel"], self.madd)]
        for signed in sorted(set(signed_kinds), reverse=True):
            names = self.func_names(signed)
            ext = "extsi" if signed else "extui"
            parts += [_pack_a(names["pack_a"], ext), _pack_b(names["pack_b"], ext),
                      drivers(names, constants=_CONSTANTS, mr=MR, nr=NR, ap_type=AP_TYPE, bp_type=BP_TYPE,
                              packed_k="\n    %KP = arith.ceildivui %K, %c2 : index", a_cols="%KP", b_rows="%KP")]
        return "module {" + "".join(parts) + "\n}\n"


AVX2 = PairKernel("avx2", "fxc_i8mm", _avx2_madd, ("avx2",))
PORTABLE = PairKernel("portable", "fxc_i8mm_portable", _portable_madd, ())
