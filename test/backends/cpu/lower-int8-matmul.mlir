// RUN: fxc-opt %s --split-input-file --fxc-lower-int8-matmul | FileCheck %s

// Two int8 inputs: a call of the per-call-packing driver on dynamic strided
// casts of the operands; the kernel functions are added once.

// CHECK-DAG: func.func private @fxc_i8mm_kernel(%{{.*}}: memref<?x?xi32>, %{{.*}}: memref<?x?x16xi32>, %{{.*}}: memref<?x?xi32, strided<[?, 1], offset: ?>>)
// CHECK-DAG: func.func private @fxc_i8mm_pack_a_s8(
// CHECK-DAG: func.func private @fxc_i8mm_pack_b_s8(
// CHECK-DAG: func.func private @fxc_i8mm_s8(
// CHECK-DAG: llvm.call_intrinsic "llvm.x86.avx2.pmadd.wd"
// CHECK-DAG: arith.extsi %{{.*}} : vector<16xi8> to vector<16xi16>
// CHECK-NOT: @fxc_i8mm_pack_a_u8
// CHECK-LABEL: func.func @main(
// CHECK-SAME: %[[A:.*]]: memref<7x5xi8>, %[[B:.*]]: memref<5x19xi8>, %[[C:.*]]: memref<7x19xi32>)
// CHECK: linalg.fill
// CHECK: %[[CA:.*]] = memref.cast %[[A]] : memref<7x5xi8> to memref<?x?xi8, strided<[?, 1], offset: ?>>
// CHECK: %[[CB:.*]] = memref.cast %[[B]] : memref<5x19xi8> to memref<?x?xi8, strided<[?, 1], offset: ?>>
// CHECK: %[[CC:.*]] = memref.cast %[[C]] : memref<7x19xi32> to memref<?x?xi32, strided<[?, 1], offset: ?>>
// CHECK: call @fxc_i8mm_s8(%[[CA]], %[[CB]], %[[CC]])
// CHECK-NOT: linalg.matmul
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
// CHECK: call @fxc_i8mm_cached_u8(%{{.*}}, %[[CW]], %{{.*}}, %[[CBP]], %[[READY]])
// CHECK: memref.get_global @fxc_i8mm_bpack_0 :
// CHECK: call @fxc_i8mm_cached_u8(
memref.global "private" constant @__constant_5x19xi8 : memref<5x19xi8> = dense<3> {alignment = 64 : i64}
func.func @main(%a: memref<7x5xi8>, %c: memref<7x19xi32>, %d: memref<7x19xi32>) {
  %w = memref.get_global @__constant_5x19xi8 : memref<5x19xi8>
  linalg.matmul {cast = #linalg.type_fn<cast_unsigned>} ins(%a, %w : memref<7x5xi8>, memref<5x19xi8>) outs(%c : memref<7x19xi32>)
  linalg.matmul {cast = #linalg.type_fn<cast_unsigned>} ins(%a, %w : memref<7x5xi8>, memref<5x19xi8>) outs(%d : memref<7x19xi32>)
  return
}

// -----

// Where the kernel does not apply, the matmul stays for the generic loops:
// wider inputs, an i64 accumulator, a column stride other than one, or
// transposed indexing maps.

// CHECK-NOT: fxc_i8mm
// CHECK-LABEL: func.func @main(
// CHECK-COUNT-4: linalg.matmul
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
