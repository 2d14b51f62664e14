"""The AVX-512 VNNI int8 GEMM micro-kernel that fxc-lower-int8-matmul calls.

``C[M,N] += A[M,K] @ B[K,N]`` with signed 8-bit ``A``/``B`` and an i32 ``C``,
exact (wrapping i32 accumulation, as eager), with ``vpdpbusd``: each 32-bit
lane of a zmm register adds four products of an *unsigned* byte of its
first operand and a *signed* byte of its second, 64 multiply-adds per
instruction (4x ``vpmaddwd``).  A is made unsigned by adding 128 (flipping
its sign bit), so the kernel computes ``sum_k (A+128)*B`` and the column-sum
compensation ``-128 * sum_k B[k, j]`` is subtracted, by starting the
accumulators from it.  Every step wraps modulo 2^32, so the result is exact.
Unsigned x unsigned matmuls (B would not fit in a signed byte) use the AVX2
kernel, which VNNI hosts have.

Layouts (K in groups of four, ``KQ = ceil(K/4)``):

* ``Ap[i, k] = A[i, k] ^ 0x80`` (``memref<Mp x 4KQ x i8>``, ``Mp`` = M
  rounded up to MR, padding rows and K zero);
* ``Bp[nb, kq, 4j + t] = B[4kq + t, NR*nb + j]`` (``memref<NB x KQ+1 x
  4NR x i8>``, zero past N and K); the extra row ``kq = KQ`` holds the
  compensation of the panel's NR columns as i32 bytes, computed by the
  packing with ``vpdpbusd`` against a vector of ones.

The register tile is MR rows x NR = 16*NV columns: MR*NV zmm accumulators,
NV zmm of B and one 4-byte broadcast of A per K group.  Tiles (N panel, row
tile) form one panel-major ``scf.parallel`` nest, as in the AVX2 kernel;
packing runs rows of A and panels of B in parallel too, when they are large
(:data:`PARALLEL_PACK_BYTES`).
"""

from __future__ import annotations

from fxc.backends.cpu.int8_microkernel import A_TYPE, C_TYPE, _old_or_zero, drivers, func_names

MR = 8
NV = 2  # zmm vectors per B panel row
VEC = 16  # i32 lanes of one zmm register
NR = VEC * NV

AP_TYPE = "memref<?x?xi8>"
BP_TYPE = f"memref<?x?x{4 * NR}xi8>"

_VPDPBUSD = '"llvm.x86.avx512.vpdpbusd.512"'
_VTY = f"vector<{VEC}xi32>"
_BTY = f"vector<{4 * VEC}xi8>"

#: Packed K: groups of 4 bytes (``%KQ``), padded (``%K4``), plus the
#: compensation row of packed B (``%KQ1``).
_PACKED_K = """
    %KQ = arith.ceildivui %K, %c4 : index
    %K4 = arith.muli %KQ, %c4 : index
    %KQ1 = arith.addi %KQ, %c1 : index"""

#: A is read as it is, without a packed copy, when whole groups of 4 bytes
#: cover K (the kernel flips A's sign bits in the register).
_RAW_A = """
    %K4rem = arith.remui %K, %c4 : index
    %raw_a = arith.cmpi eq, %K4rem, %c0 : index"""

#: Packing forks threads only for operands of at least this many packed bytes.
PARALLEL_PACK_BYTES = 1 << 17

_CONSTANTS = f"""
    %c0 = arith.constant 0 : index
    %cbig = arith.constant {PARALLEL_PACK_BYTES} : index
    %c1 = arith.constant 1 : index
    %c4 = arith.constant 4 : index
    %c64 = arith.constant 64 : index
    %c0_i8 = arith.constant 0 : i8
    %cm128_i8 = arith.constant -128 : i8"""


def _dpbusd(out: str, acc: str, a: str, b: str) -> str:
    return f"{out} = llvm.call_intrinsic {_VPDPBUSD}({acc}, {a}, {b}) : ({_VTY}, {_BTY}, {_BTY}) -> {_VTY}"


def _maybe_parallel(iv: str, ub: str, body: str, big: str) -> str:
    """``for iv in [0, ub)`` of ``body``: an ``scf.parallel`` when ``big``
    (an i1), else an ``scf.for`` (no fork/join for small operands)."""
    return f"""scf.if {big} {{
      scf.parallel ({iv}) = (%c0) to ({ub}) step (%c1) {{{body}
        scf.reduce
      }}
    }} else {{
      scf.for {iv} = %c0 to {ub} step %c1 {{{body}
      }}
    }}"""


def broadcast_group(r: int, at: str, group: str, out_ty: str, clamp: bool = False, flip: bool = False) -> list:
    """``%a{r}``: row ``r``'s group of K elements (``group``, 32 bits, at
    ``at``: ``%Ap[..., %ir{r}, %k] : type``) in every 32-bit lane of a zmm.

    ``clamp``: rows past the last (``%Mlast``) read the last one (an A that
    is not padded to whole row tiles; those rows' sums are never stored).
    ``flip``: the group's sign bits are flipped (``xor %flip``)."""
    lines = [f"%ir{r} = arith.addi %i0, %c{r}r : index"]
    if clamp:
        lines.append(f"%ir{r}c = arith.minui %ir{r}, %Mlast : index")
        at = at.replace(f"%ir{r},", f"%ir{r}c,")
    lines += [
        f"%ag{r} = vector.load {at}, {group}",
        f"%a1_{r} = vector.bitcast %ag{r} : {group} to vector<1xi32>",
        f"%as{r} = vector.extract %a1_{r}[0] : i32 from vector<1xi32>",
        f"%av{r} = vector.broadcast %as{r} : i32 to vector<{VEC}xi32>",
    ]
    if flip:
        return lines + [f"%ab{r} = vector.bitcast %av{r} : vector<{VEC}xi32> to {out_ty}",
                        f"%a{r} = arith.xori %ab{r}, %flip : {out_ty}"]
    return lines + [f"%a{r} = vector.bitcast %av{r} : vector<{VEC}xi32> to {out_ty}"]


def edge_mask(v: int, lanes: int) -> list:
    """``%col{v}`` (column of the tile's ``v``-th vector, from ``%n0``) and
    ``%mask{v}``, its lanes left of ``%N``."""
    return [
        f"%col{v} = arith.addi %n0, %c{lanes * v}r : index",
        f"%left{v} = arith.subi %N, %col{v} : index",
        f"%mask{v} = vector.create_mask %left{v} : vector<{lanes}xi1>",
    ]


def store_tile(mr: int, nv: int, lanes: int, c_type: str, add: str, bi: str = "") -> list:
    """Adds the accumulators ``%t`` (``mr`` rows x ``nv`` vectors) to C's
    tile at (``%i0``, ``%n0``), or overwrites it (``%acc`` false); rows from
    ``%M`` on are skipped, columns masked (:func:`edge_mask`).  ``bi``
    prefixes C's indices (a batch index)."""
    elem = "f32" if add == "arith.addf" else "i32"
    vty = f"vector<{lanes}x{elem}>"
    lines = []
    for r in range(mr):
        lines += [f"%row{r} = arith.addi %i0, %c{r}r : index",
                  f"%inrow{r} = arith.cmpi ult, %row{r}, %M : index",
                  f"scf.if %inrow{r} {{"]
        for v in range(nv):
            lines += [
                *_old_or_zero(f"%old{r}_{v}", f"{bi}%row{r}", f"%col{v}", f"%mask{v}", vty, lanes, c_type),
                f"  %new{r}_{v} = {add} %old{r}_{v}, %t#{r * nv + v} : {vty}",
                f"  vector.maskedstore %C[{bi}%row{r}, %col{v}], %mask{v}, %new{r}_{v} : "
                f"{c_type}, vector<{lanes}xi1>, {vty}",
            ]
        lines.append("}")
    return lines


def _pack_a(name: str) -> str:
    body = f"""
      %inb = arith.cmpi ult, %i, %M : index
      scf.if %inb {{
        scf.for %k = %c0 to %K64 step %c64 {{
          %v = vector.load %A[%i, %k] : {A_TYPE}, vector<64xi8>
          %x = arith.xori %v, %flip : vector<64xi8>
          vector.store %x, %Ap[%i, %k] : {AP_TYPE}, vector<64xi8>
        }}
        scf.for %k = %K64 to %K4 step %c1 {{
          %kin = arith.cmpi ult, %k, %K : index
          %a = scf.if %kin -> i8 {{
            %x = memref.load %A[%i, %k] : {A_TYPE}
            %y = arith.xori %x, %cm128_i8 : i8
            scf.yield %y : i8
          }} else {{
            scf.yield %c0_i8 : i8
          }}
          memref.store %a, %Ap[%i, %k] : {AP_TYPE}
        }}
      }} else {{
        scf.for %k = %c0 to %K4 step %c1 {{
          memref.store %c0_i8, %Ap[%i, %k] : {AP_TYPE}
        }}
      }}"""
    loop = _maybe_parallel("%i", "%Mp", body, "%big")
    return f"""
  func.func private @{name}(%A: {A_TYPE}, %Ap: {AP_TYPE}) {{{_CONSTANTS}
    %flip = arith.constant dense<-128> : vector<64xi8>
    %M = memref.dim %A, %c0 : {A_TYPE}
    %K = memref.dim %A, %c1 : {A_TYPE}
    %Mp = memref.dim %Ap, %c0 : {AP_TYPE}
    %K4 = memref.dim %Ap, %c1 : {AP_TYPE}
    %K64d = arith.divui %K, %c64 : index
    %K64 = arith.muli %K64d, %c64 : index
    %bytes = arith.muli %Mp, %K4 : index
    %big = arith.cmpi uge, %bytes, %cbig : index
    {loop}
    return
  }}"""


def _pack_b(name: str) -> str:
    pairs = ", ".join(f"{j}, {j + NR}" for j in range(NR))
    quads = ", ".join(f"{j}, {j + NR}" for j in range(NR))
    rows = "\n".join(
        f"          %kk{t} = arith.addi %k0, %c{t}r : index\n"
        f"          %r{t} = vector.load %B[%kk{t}, %n0] : {A_TYPE}, vector<{NR}xi8>" for t in range(4)
    )
    comp = []
    for v in range(NV):
        comp += [
            f"%cs{v} = scf.for %kq = %c0 to %KQ step %c1 iter_args(%acc = %zero) -> ({_VTY}) {{",
            f"  %b = vector.load %Bp[%nb, %kq, %c{64 * v}r] : {BP_TYPE}, {_BTY}",
            "  " + _dpbusd("%s", "%acc", "%ones", "%b"),
            f"  scf.yield %s : {_VTY}",
            "}",
            f"%comp{v} = arith.muli %cs{v}, %m128 : {_VTY}",
            f"%compb{v} = vector.bitcast %comp{v} : {_VTY} to {_BTY}",
            f"vector.store %compb{v}, %Bp[%nb, %KQ, %c{64 * v}r] : {BP_TYPE}, {_BTY}",
        ]
    consts = "\n    ".join(f"%c{c}r = arith.constant {c} : index" for c in sorted({0, 1, 2, 3, NR, 4 * NR, *range(0, 64 * NV, 64)}))
    body = f"""
      %n0 = arith.muli %nb, %c{NR}r : index
      %nend = arith.addi %n0, %c{NR}r : index
      %nfull = arith.cmpi ule, %nend, %N : index
      scf.for %kq = %c0 to %KQ step %c1 {{
        %k0 = arith.muli %kq, %c4 : index
        %k3 = arith.addi %k0, %c3r : index
        %kin = arith.cmpi ult, %k3, %K : index
        %full = arith.andi %nfull, %kin : i1
        scf.if %full {{
{rows}
          %p01 = vector.shuffle %r0, %r1 [{pairs}] : vector<{NR}xi8>, vector<{NR}xi8>
          %p23 = vector.shuffle %r2, %r3 [{pairs}] : vector<{NR}xi8>, vector<{NR}xi8>
          %q01 = vector.bitcast %p01 : vector<{2 * NR}xi8> to vector<{NR}xi16>
          %q23 = vector.bitcast %p23 : vector<{2 * NR}xi8> to vector<{NR}xi16>
          %il = vector.shuffle %q01, %q23 [{quads}] : vector<{NR}xi16>, vector<{NR}xi16>
          %out = vector.bitcast %il : vector<{2 * NR}xi16> to vector<{4 * NR}xi8>
          vector.store %out, %Bp[%nb, %kq, %c0] : {BP_TYPE}, vector<{4 * NR}xi8>
        }} else {{
          scf.for %j = %c0 to %c{NR}r step %c1 {{
            %n = arith.addi %n0, %j : index
            %nin = arith.cmpi ult, %n, %N : index
            %j4 = arith.muli %j, %c4 : index
            scf.for %t = %c0 to %c4 step %c1 {{
              %k = arith.addi %k0, %t : index
              %kin1 = arith.cmpi ult, %k, %K : index
              %ok = arith.andi %nin, %kin1 : i1
              %b = scf.if %ok -> i8 {{
                %x = memref.load %B[%k, %n] : {A_TYPE}
                scf.yield %x : i8
              }} else {{
                scf.yield %c0_i8 : i8
              }}
              %col = arith.addi %j4, %t : index
              memref.store %b, %Bp[%nb, %kq, %col] : {BP_TYPE}
            }}
          }}
        }}
      }}
      {(chr(10) + '      ').join(comp)}"""
    loop = _maybe_parallel("%nb", "%NB", body, "%big")
    return f"""
  func.func private @{name}(%B: {A_TYPE}, %Bp: {BP_TYPE}) {{{_CONSTANTS}
    {consts}
    %zero = arith.constant dense<0> : {_VTY}
    %ones = arith.constant dense<1> : {_BTY}
    %m128 = arith.constant dense<-128> : {_VTY}
    %K = memref.dim %B, %c0 : {A_TYPE}
    %N = memref.dim %B, %c1 : {A_TYPE}
    %NB = memref.dim %Bp, %c0 : {BP_TYPE}
    %KQ1 = memref.dim %Bp, %c1 : {BP_TYPE}
    %KQ = arith.subi %KQ1, %c1 : index
    %rows = arith.muli %NB, %KQ1 : index
    %bytes = arith.muli %rows, %c{4 * NR}r : index
    %big = arith.cmpi uge, %bytes, %cbig : index
    {loop}
    return
  }}"""


def _kernel(name: str, raw: bool = False) -> str:
    """The register-tiled kernel on packed B and packed A (``%Ap``), or,
    when ``raw``, on A as it is (``%A``, K a multiple of 4): each 4-byte
    broadcast of A then gets its sign bits flipped in the register, and rows
    past M read row M-1 (their sums are never stored)."""
    a_ref, a_type = ("%A", A_TYPE) if raw else ("%Ap", AP_TYPE)
    accs = [(r, v) for r in range(MR) for v in range(NV)]
    tys = ", ".join([_VTY] * len(accs))
    body = ["%k = arith.muli %kq, %c4 : index"]
    for v in range(NV):
        body.append(f"%b{v} = vector.load %Bp[%nb, %kq, %c{64 * v}r] : {BP_TYPE}, {_BTY}")
    for r in range(MR):
        body += broadcast_group(r, f"{a_ref}[%ir{r}, %k] : {a_type}", "vector<4xi8>", _BTY, clamp=raw, flip=raw)
        body += [_dpbusd(f"%s{r}_{v}", f"%acc{r}_{v}", f"%a{r}", f"%b{v}") for v in range(NV)]
    body.append(f"scf.yield {', '.join(f'%s{r}_{v}' for r, v in accs)} : {tys}")
    prologue = []
    for v in range(NV):
        prologue += [
            *edge_mask(v, VEC),
            f"%cb{v} = vector.load %Bp[%nb, %KQ, %c{64 * v}r] : {BP_TYPE}, {_BTY}",
            f"%comp{v} = vector.bitcast %cb{v} : {_BTY} to {_VTY}",
        ]
    iter_args = ", ".join(f"%acc{r}_{v} = %comp{v}" for r, v in accs)
    epilogue = store_tile(MR, NV, VEC, C_TYPE, "arith.addi")
    consts = "\n    ".join(f"%c{c}r = arith.constant {c} : index"
                           for c in sorted({*range(MR), NR, *range(0, NR, VEC), *range(0, 64 * NV, 64)}))
    if raw:
        rows = f"""
    %flip = arith.constant dense<-128> : {_BTY}
    %MB = arith.ceildivui %M, %cMR : index
    %Mlast = arith.subi %M, %c1 : index"""
    else:
        rows = f"""
    %Mp = memref.dim %Ap, %c0 : {AP_TYPE}
    %MB = arith.divui %Mp, %cMR : index"""
    nl = "\n      "
    ind = "\n        "
    return f"""
  func.func private @{name}({a_ref}: {a_type}, %Bp: {BP_TYPE}, %C: {C_TYPE}, %acc: i1) {{{_CONSTANTS}
    {consts}
    %cMR = arith.constant {MR} : index
    %zero = arith.constant dense<0> : {_VTY}
    %M = memref.dim %C, %c0 : {C_TYPE}
    %N = memref.dim %C, %c1 : {C_TYPE}
    %NB = memref.dim %Bp, %c0 : {BP_TYPE}
    %KQ1 = memref.dim %Bp, %c1 : {BP_TYPE}
    %KQ = arith.subi %KQ1, %c1 : index{rows}
    scf.parallel (%nb, %mb) = (%c0, %c0) to (%NB, %MB) step (%c1, %c1) {{
      %n0 = arith.muli %nb, %c{NR}r : index
      %i0 = arith.muli %mb, %cMR : index
      {nl.join(prologue)}
      %t:{len(accs)} = scf.for %kq = %c0 to %KQ step %c1 iter_args({iter_args}) -> ({tys}) {{
        {ind.join(body)}
      }}
      {nl.join(epilogue)}
      scf.reduce
    }}
    return
  }}"""


class VnniKernel:
    """The VNNI variant, with :class:`~fxc.backends.cpu.int8_microkernel.PairKernel`'s interface."""

    name = "vnni"
    prefix = "fxc_i8mm_vnni"
    features = ("avx512f", "avx512bw", "avx512_vnni")
    bp_type = BP_TYPE

    def handles(self, signed: bool) -> bool:
        return signed

    def func_names(self, signed: bool) -> dict:
        return func_names(signed, self.prefix)

    def packed_b_type(self, k: int, n: int) -> str:
        return f"memref<{-(-n // NR)}x{-(-k // 4) + 1}x{4 * NR}xi8>"

    def kernel_module(self, signed_kinds) -> str:
        if set(signed_kinds) - {True}:
            raise ValueError("the VNNI kernel takes signed int8 operands only")
        names = self.func_names(True)
        return "module {" + _kernel(names["kernel"]) + _kernel(names["kernel_raw"], raw=True) \
            + _pack_a(names["pack_a"]) + _pack_b(names["pack_b"]) \
            + drivers(names, constants=_CONSTANTS, mr=MR, nr=NR, ap_type=AP_TYPE, bp_type=BP_TYPE,
                      packed_k=_PACKED_K, a_cols="%K4", b_rows="%KQ1", raw_a_when=_RAW_A) + "\n}\n"


VNNI = VnniKernel()
