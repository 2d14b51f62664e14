// RUN: fxc-opt %s --pass-pipeline='builtin.module(fxc-convert-linalg-to-vector{vector-bits=512 parallel=true})' | FileCheck %s --check-prefix=AVX512
// RUN: fxc-opt %s --pass-pipeline='builtin.module(fxc-convert-linalg-to-vector{vector-bits=256})' | FileCheck %s --check-prefix=AVX2

// A float matmul: cache tiles (an scf.forall when parallel), then an
// mr x (2 * lanes) register tile whose accumulator is loaded once, carried
// through the K loop and updated by one vector.fma per row, then stored.

// AVX512-LABEL: func.func @matmul(
// AVX512: scf.forall (%{{.*}}, %{{.*}}) in (2, 2) {
// AVX512:   scf.for %{{.*}} = %c0 to %c64 step %c8 {
// AVX512:     scf.for %{{.*}} = %c0 to %c256 step %c32 {
// AVX512:       vector.load %{{.*}} vector<32xf32>
// AVX512:       %{{.*}} = scf.for %{{.*}} = %c0 to %c32 step %c1 iter_args(%{{.*}} = %{{.*}}) -> (vector<8x32xf32>) {
// AVX512-COUNT-8: vector.fma %{{.*}} : vector<32xf32>
// AVX512:         scf.yield %{{.*}} : vector<8x32xf32>
// AVX512-COUNT-8: vector.store %{{.*}} vector<32xf32>
// AVX512-NOT: linalg.matmul

// Without parallel, the cache tiles are scf.for loops; AVX2 takes 4 x 16
// register tiles.
// AVX2-LABEL: func.func @matmul(
// AVX2-NOT: scf.forall
// AVX2: scf.for %{{.*}} = %c0 to %c128 step %c64 {
// AVX2: iter_args(%{{.*}} = %{{.*}}) -> (vector<4x16xf32>) {
// AVX2-COUNT-4: vector.fma %{{.*}} : vector<16xf32>
func.func @matmul(%a: memref<128x32xf32>, %b: memref<32x512xf32>, %c: memref<128x512xf32>) {
  linalg.matmul ins(%a, %b : memref<128x32xf32>, memref<32x512xf32>) outs(%c : memref<128x512xf32>)
  return
}

// An elementwise generic: the innermost dimension in 4 * lanes vectors.
// AVX512-LABEL: func.func @relu(
// AVX512: scf.for %{{.*}} = %c0 to %c256 step %c64 {
// AVX512:   %[[X:.*]] = vector.load %{{.*}} vector<64xf32>
// AVX512:   %[[R:.*]] = arith.maximumf %[[X]], %{{.*}} : vector<64xf32>
// AVX512:   vector.store %[[R]], %{{.*}} vector<64xf32>
// AVX2-LABEL: func.func @relu(
// AVX2: arith.maximumf %{{.*}} : vector<32xf32>
func.func @relu(%a: memref<256xf32>, %b: memref<256xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} ins(%a : memref<256xf32>) outs(%b : memref<256xf32>) {
  ^bb0(%in: f32, %out: f32):
    %z = arith.constant 0.0 : f32
    %r = arith.maximumf %in, %z : f32
    linalg.yield %r : f32
  }
  return
}

// A row reduction: the row's partial result is carried through the loop.
// AVX512-LABEL: func.func @row_sum(
// AVX512: scf.for %[[I:.*]] = %c0 to %c8 step %c1 {
// AVX512:   scf.for %{{.*}} = %c0 to %c128 step %c64 iter_args(%{{.*}} = %{{.*}}) -> (vector<1xf32>) {
// AVX512:     vector.multi_reduction <add>, %{{.*}} [1] : vector<1x64xf32> to vector<1xf32>
func.func @row_sum(%a: memref<8x128xf32>, %b: memref<8x1xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, 0)>], iterator_types = ["parallel", "reduction"]} ins(%a : memref<8x128xf32>) outs(%b : memref<8x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %s = arith.addf %in, %out : f32
    linalg.yield %s : f32
  }
  return
}

// A NaN-propagating max reduction (softmax's row max) has no x86 vector
// reduction instruction; it stays scalar.
// AVX512-LABEL: func.func @row_max(
// AVX512: linalg.generic
func.func @row_max(%a: memref<8x128xf32>, %b: memref<8x1xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, 0)>], iterator_types = ["parallel", "reduction"]} ins(%a : memref<8x128xf32>) outs(%b : memref<8x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.maximumf %in, %out : f32
    linalg.yield %m : f32
  }
  return
}

// Dynamic shapes, integer matmuls and i1 buffers (a byte per element in
// memory, a bit per lane in a vector) stay for convert-linalg-to-loops.
// AVX512-LABEL: func.func @compare(
// AVX512: linalg.generic
func.func @compare(%a: memref<64xf32>, %b: memref<64xf32>, %c: memref<64xi1>) {
  linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} ins(%a, %b : memref<64xf32>, memref<64xf32>) outs(%c : memref<64xi1>) {
  ^bb0(%x: f32, %y: f32, %out: i1):
    %e = arith.cmpf oeq, %x, %y : f32
    linalg.yield %e : i1
  }
  return
}

// AVX512-LABEL: func.func @dynamic(
// AVX512: linalg.matmul
// AVX512-LABEL: func.func @int_matmul(
// AVX512: linalg.matmul
func.func @dynamic(%a: memref<?x?xf32>, %b: memref<?x?xf32>, %c: memref<?x?xf32>) {
  linalg.matmul ins(%a, %b : memref<?x?xf32>, memref<?x?xf32>) outs(%c : memref<?x?xf32>)
  return
}
func.func @int_matmul(%a: memref<16x16xi32>, %b: memref<16x16xi32>, %c: memref<16x16xi32>) {
  linalg.matmul ins(%a, %b : memref<16x16xi32>, memref<16x16xi32>) outs(%c : memref<16x16xi32>)
  return
}
