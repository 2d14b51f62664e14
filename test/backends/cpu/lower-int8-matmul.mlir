// RUN: fxc-opt %s --split-input-file '--fxc-lower-int8-matmul{kernel=avx2}' | FileCheck %s
// RUN: fxc-opt %s --split-input-file '--fxc-lower-int8-matmul{kernel=vnni}' | FileCheck %s --check-prefix=VNNI
// RUN: fxc-opt %s --split-input-file '--fxc-lower-int8-matmul{kernel=portable}' | FileCheck %s --check-prefix=PORTABLE
// RUN: fxc-opt %s --split-input-file --fxc-lower-int8-matmul | FileCheck %s --check-prefix=PORTABLE
// RUN: not fxc-opt %s --split-input-file '--fxc-lower-int8-matmul{kernel=amx}' 2>&1 | FileCheck %s --check-prefix=BAD

// BAD: unknown kernel 'amx'; kernels are vnni, avx2, portable

// The kernel variant is an option (the CPU backend picks it from the host's
// features), so each variant's IR is checked here on any host.

// Two int8 inputs: a call of the per-call-packing driver on dynamic strided
// casts of the operands; the kernel functions are added once.  The zero fill
// of C just before the matmul goes: the kernel overwrites C (acc = false)
// instead of loading and adding to it.

// CHECK-DAG: func.func private @fxc_i8mm_kernel(%{{.*}}: memref<?x?xi32>, %{{.*}}: memref<?x?x16xi32>, %{{.*}}: memref<?x?xi32, strided<[?, 1], offset: ?>>, %[[ACC:.*]]: i1)
// CHECK-DAG: scf.if %[[ACC]] -> (vector<8xi32>)
// CHECK-DAG: func.func private @fxc_i8mm_pack_a_s8(
// CHECK-DAG: func.func private @fxc_i8mm_pack_b_s8(
// CHECK-DAG: func.func private @fxc_i8mm_s8(
// CHECK-DAG: llvm.call_intrinsic "llvm.x86.avx2.pmadd.wd"
// CHECK-DAG: arith.extsi %{{.*}} : vector<16xi8> to vector<16xi16>
// CHECK-NOT: @fxc_i8mm_pack_a_u8
// CHECK-LABEL: func.func @main(
// CHECK-SAME: %[[A:.*]]: memref<7x5xi8>, %[[B:.*]]: memref<5x19xi8>, %[[C:.*]]: memref<7x19xi32>)
// CHECK-NOT: linalg.fill
// CHECK: %[[OVERWRITE:.*]] = arith.constant false
// CHECK-NOT: linalg.fill
// CHECK: %[[CA:.*]] = memref.cast %[[A]] : memref<7x5xi8> to memref<?x?xi8, strided<[?, 1], offset: ?>>
// CHECK: %[[CB:.*]] = memref.cast %[[B]] : memref<5x19xi8> to memref<?x?xi8, strided<[?, 1], offset: ?>>
// CHECK: %[[CC:.*]] = memref.cast %[[C]] : memref<7x19xi32> to memref<?x?xi32, strided<[?, 1], offset: ?>>
// CHECK: call @fxc_i8mm_s8(%[[CA]], %[[CB]], %[[CC]], %[[OVERWRITE]])
// CHECK-NOT: linalg.matmul
// CHECK-NOT: linalg.fill

// The vnni kernel: vpdpbusd (u8 x s8, 4 products per i32 lane) on A with its sign bit
// flipped (A + 128), B packed in groups of four K and a compensation row
// (-128 * column sums, computed with vpdpbusd against ones) that starts the
// accumulators.
// VNNI-DAG: func.func private @fxc_i8mm_vnni_kernel(%{{.*}}: memref<?x?xi8>, %{{.*}}: memref<?x?x128xi8>, %{{.*}}: memref<?x?xi32, strided<[?, 1], offset: ?>>, %[[VACC:.*]]: i1)
// VNNI-DAG: scf.if %[[VACC]] -> (vector<16xi32>)
// VNNI-DAG: func.func private @fxc_i8mm_vnni_pack_a_s8(
// Where 4 divides K, the driver skips packing A: the raw kernel reads A's
// rows (clamped to the last one past M) and flips the broadcast's sign bits.
// VNNI-DAG: func.func private @fxc_i8mm_vnni_kernel_raw(%{{.*}}: memref<?x?xi8, strided<[?, 1], offset: ?>>, %{{.*}}: memref<?x?x128xi8>,
// VNNI-DAG: arith.minui %{{.*}}, %{{.*}} : index
// VNNI-DAG: %[[K4REM:.*]] = arith.remui %{{.*}}, %c4 : index
// VNNI-DAG: %[[RAW:.*]] = arith.cmpi eq, %[[K4REM]], %c0 : index
// VNNI-DAG: scf.if %[[RAW]] {
// VNNI-DAG: call @fxc_i8mm_vnni_kernel_raw(
// VNNI-DAG: func.func private @fxc_i8mm_vnni_pack_b_s8(
// VNNI-DAG: func.func private @fxc_i8mm_vnni_s8(
// VNNI-DAG: arith.xori %{{.*}}, %{{.*}} : vector<64xi8>
// VNNI-DAG: %[[ONES:.*]] = arith.constant dense<1> : vector<64xi8>
// VNNI-DAG: llvm.call_intrinsic "llvm.x86.avx512.vpdpbusd.512"(%{{.*}}, %[[ONES]], %{{.*}}) : (vector<16xi32>, vector<64xi8>, vector<64xi8>) -> vector<16xi32>
// VNNI-DAG: %[[M128:.*]] = arith.constant dense<-128> : vector<16xi32>
// VNNI-DAG: arith.muli %{{.*}}, %[[M128]] : vector<16xi32>
// VNNI-NOT: pmadd.wd
// VNNI-LABEL: func.func @main(
// VNNI: %[[VOVER:.*]] = arith.constant false
// VNNI: call @fxc_i8mm_vnni_s8(%{{.*}}, %{{.*}}, %{{.*}}, %[[VOVER]])
// VNNI-NOT: linalg.matmul

// The portable kernel: vpmaddwd's arithmetic in plain vector ops, no x86 intrinsic.
// PORTABLE-NOT: llvm.call_intrinsic
// PORTABLE-DAG: func.func private @fxc_i8mm_portable_kernel(
// PORTABLE-DAG: %[[W:.*]] = arith.muli %{{.*}}, %{{.*}} : vector<16xi32>
// PORTABLE-DAG: %[[E:.*]] = vector.shuffle %[[W]], %[[W]] [0, 2, 4, 6, 8, 10, 12, 14]
// PORTABLE-DAG: %[[O:.*]] = vector.shuffle %[[W]], %[[W]] [1, 3, 5, 7, 9, 11, 13, 15]
// PORTABLE-DAG: arith.addi %[[E]], %[[O]] : vector<8xi32>
// PORTABLE-LABEL: func.func @main(
// PORTABLE: call @fxc_i8mm_portable_s8(
// PORTABLE-NOT: linalg.matmul
func.func @main(%a: memref<7x5xi8>, %b: memref<5x19xi8>, %c: memref<7x19xi32>) {
  %c0 = arith.constant 0 : i32
  linalg.fill ins(%c0 : i32) outs(%c : memref<7x19xi32>)
  linalg.matmul ins(%a, %b : memref<7x5xi8>, memref<5x19xi8>) outs(%c : memref<7x19xi32>)
  return
}

// -----

// A constant weight is packed once, into a global, behind a ready flag; two
// uses of one weight share it.  Unsigned inputs get the zero-extending kernels.

// CHECK-DAG: memref.global "private" @fxc_i8mm_bpack_0 : memref<2x3x16xi32> = uninitialized {alignment = 64 : i64}
// CHECK-DAG: memref.global "private" @fxc_i8mm_bpack_0_ready : memref<i32> = dense<0>
// CHECK-DAG: func.func private @fxc_i8mm_cached_u8(
// CHECK-DAG: arith.extui %{{.*}} : vector<16xi8> to vector<16xi16>
// CHECK-NOT: @fxc_i8mm_bpack_1 :
// CHECK-LABEL: func.func @main(
// CHECK: %[[W:.*]] = memref.get_global @__constant_5x19xi8 : memref<5x19xi8>
// CHECK: %[[CW:.*]] = memref.cast %[[W]]
// CHECK: %[[BP:.*]] = memref.get_global @fxc_i8mm_bpack_0 : memref<2x3x16xi32>
// CHECK: %[[CBP:.*]] = memref.cast %[[BP]] : memref<2x3x16xi32> to memref<?x?x16xi32>
// CHECK: %[[READY:.*]] = memref.get_global @fxc_i8mm_bpack_0_ready : memref<i32>
// CHECK: call @fxc_i8mm_cached_u8(%{{.*}}, %[[CW]], %{{.*}}, %[[ACC:.*]], %[[CBP]], %[[READY]])
// CHECK: memref.get_global @fxc_i8mm_bpack_0 :
// CHECK: call @fxc_i8mm_cached_u8(

// The vnni kernel takes signed operands only; unsigned ones get the AVX2 kernel.
// VNNI-NOT: fxc_i8mm_vnni
// VNNI: memref.global "private" @fxc_i8mm_bpack_0 : memref<2x3x16xi32>
// VNNI-NOT: fxc_i8mm_vnni
// VNNI-LABEL: func.func @main(
// VNNI: call @fxc_i8mm_cached_u8(
// VNNI: call @fxc_i8mm_cached_u8(
// PORTABLE-LABEL: func.func @main(
// PORTABLE: call @fxc_i8mm_portable_cached_u8(
memref.global "private" constant @__constant_5x19xi8 : memref<5x19xi8> = dense<3> {alignment = 64 : i64}
func.func @main(%a: memref<7x5xi8>, %c: memref<7x19xi32>, %d: memref<7x19xi32>) {
  %w = memref.get_global @__constant_5x19xi8 : memref<5x19xi8>
  linalg.matmul {cast = #linalg.type_fn<cast_unsigned>} ins(%a, %w : memref<7x5xi8>, memref<5x19xi8>) outs(%c : memref<7x19xi32>)
  linalg.matmul {cast = #linalg.type_fn<cast_unsigned>} ins(%a, %w : memref<7x5xi8>, memref<5x19xi8>) outs(%d : memref<7x19xi32>)
  return
}

// -----

// A signed constant weight with the vnni kernel is packed (once) as 1 panel of 32
// columns x (2 groups of four K + the compensation row) x 128 bytes.

// VNNI: memref.global "private" @fxc_i8mm_bpack_0 : memref<1x3x128xi8> = uninitialized {alignment = 64 : i64}
// VNNI-LABEL: func.func @main(
// VNNI: %[[BP:.*]] = memref.get_global @fxc_i8mm_bpack_0 : memref<1x3x128xi8>
// VNNI: %[[CBP:.*]] = memref.cast %[[BP]] : memref<1x3x128xi8> to memref<?x?x128xi8>
// VNNI: call @fxc_i8mm_vnni_cached_s8(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[CBP]], %{{.*}})
// CHECK: memref.global "private" @fxc_i8mm_bpack_0 : memref<2x3x16xi32>
// CHECK-LABEL: func.func @main(
// CHECK: call @fxc_i8mm_cached_s8(
// PORTABLE: memref.global "private" @fxc_i8mm_bpack_0 : memref<2x3x16xi32>
// PORTABLE-LABEL: func.func @main(
// PORTABLE: call @fxc_i8mm_portable_cached_s8(
memref.global "private" constant @__constant_5x19xi8 : memref<5x19xi8> = dense<-3> {alignment = 64 : i64}
func.func @main(%a: memref<7x5xi8>, %c: memref<7x19xi32>) {
  %w = memref.get_global @__constant_5x19xi8 : memref<5x19xi8>
  linalg.matmul ins(%a, %w : memref<7x5xi8>, memref<5x19xi8>) outs(%c : memref<7x19xi32>)
  return
}

// -----

// Only a fill of zero right before the matmul, into its output, goes: here
// C is filled with 1, D's fill is followed by another op, and E's fill is
// of another buffer: every fill stays and each call accumulates.

// CHECK-LABEL: func.func @main(
// CHECK-NOT: arith.constant false
// CHECK: linalg.fill ins(%{{.*}} : i32) outs(%[[C:.*]] : memref<7x19xi32>)
// CHECK: %[[T1:.*]] = arith.constant true
// CHECK: call @fxc_i8mm_s8(%{{.*}}, %{{.*}}, %{{.*}}, %[[T1]])
// CHECK: linalg.fill
// CHECK: memref.copy
// CHECK: %[[T2:.*]] = arith.constant true
// CHECK: call @fxc_i8mm_s8(%{{.*}}, %{{.*}}, %{{.*}}, %[[T2]])
// CHECK: linalg.fill
// CHECK: %[[T3:.*]] = arith.constant true
// CHECK: call @fxc_i8mm_s8(%{{.*}}, %{{.*}}, %{{.*}}, %[[T3]])
// CHECK-NOT: arith.constant false
// VNNI-LABEL: func.func @main(
// VNNI-COUNT-3: call @fxc_i8mm_vnni_s8(
func.func @main(%a: memref<7x5xi8>, %b: memref<5x19xi8>, %c: memref<7x19xi32>, %d: memref<7x19xi32>, %e: memref<7x19xi32>) {
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  linalg.fill ins(%c1 : i32) outs(%c : memref<7x19xi32>)
  linalg.matmul ins(%a, %b : memref<7x5xi8>, memref<5x19xi8>) outs(%c : memref<7x19xi32>)
  linalg.fill ins(%c0 : i32) outs(%d : memref<7x19xi32>)
  memref.copy %c, %e : memref<7x19xi32> to memref<7x19xi32>
  linalg.matmul ins(%a, %b : memref<7x5xi8>, memref<5x19xi8>) outs(%d : memref<7x19xi32>)
  linalg.fill ins(%c0 : i32) outs(%d : memref<7x19xi32>)
  linalg.matmul ins(%a, %b : memref<7x5xi8>, memref<5x19xi8>) outs(%e : memref<7x19xi32>)
  return
}

// -----

// Where the kernel does not apply, the matmul stays for the generic loops:
// wider inputs, an i64 accumulator, a column stride other than one, or
// transposed indexing maps.

// CHECK-NOT: fxc_i8mm
// CHECK-LABEL: func.func @main(
// CHECK-COUNT-4: linalg.matmul
// VNNI-LABEL: func.func @main(
// VNNI-COUNT-4: linalg.matmul
// CHECK-NOT: call
func.func @main(%a16: memref<4x4xi16>, %a: memref<4x4xi8>, %s: memref<4x4xi8, strided<[1, 4]>>,
                %c: memref<4x4xi32>, %c64: memref<4x4xi64>) {
  linalg.matmul ins(%a16, %a16 : memref<4x4xi16>, memref<4x4xi16>) outs(%c : memref<4x4xi32>)
  linalg.matmul ins(%a, %a : memref<4x4xi8>, memref<4x4xi8>) outs(%c64 : memref<4x4xi64>)
  linalg.matmul ins(%a, %s : memref<4x4xi8>, memref<4x4xi8, strided<[1, 4]>>) outs(%c : memref<4x4xi32>)
  linalg.matmul indexing_maps = [affine_map<(d0, d1, d2) -> (d2, d0)>, affine_map<(d0, d1, d2) -> (d2, d1)>, affine_map<(d0, d1, d2) -> (d0, d1)>]
      ins(%a, %a : memref<4x4xi8>, memref<4x4xi8>) outs(%c : memref<4x4xi32>)
  return
}
