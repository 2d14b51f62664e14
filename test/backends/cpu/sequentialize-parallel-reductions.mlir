// RUN: fxc-opt %s --fxc-sequentialize-parallel-reductions | FileCheck %s

// A reducing scf.parallel (tm-tensor-to-loops' attention max) becomes an
// scf.for nest carrying the accumulator; convert-scf-to-openmp rejects its
// arith.maximumf combiner.

// CHECK-LABEL: func.func @max_all(
// CHECK: %[[INIT:.*]] = memref.load
// CHECK: %[[R:.*]] = scf.for %[[I:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[A:.*]] = %[[INIT]]) -> (f32) {
// CHECK:   %[[IN:.*]] = scf.for %[[J:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[B:.*]] = %[[A]]) -> (f32) {
// CHECK:     %[[V:.*]] = memref.load %arg0[%[[I]], %[[J]]]
// CHECK:     %[[M:.*]] = arith.maximumf %[[B]], %[[V]] : f32
// CHECK:     scf.yield %[[M]] : f32
// CHECK:   scf.yield %[[IN]] : f32
// CHECK: return %[[R]] : f32
// CHECK-NOT: scf.parallel
func.func @max_all(%m: memref<2x8xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c8 = arith.constant 8 : index
  %0 = memref.load %m[%c0, %c0] : memref<2x8xf32>
  %1 = scf.parallel (%i, %j) = (%c0, %c0) to (%c2, %c8) step (%c1, %c1) init (%0) -> f32 {
    %4 = memref.load %m[%i, %j] : memref<2x8xf32>
    scf.reduce(%4 : f32) {
    ^bb0(%a: f32, %b: f32):
      %5 = arith.maximumf %a, %b : f32
      scf.reduce.return %5 : f32
    }
  }
  return %1 : f32
}

// A loop without results stays parallel.
// CHECK-LABEL: func.func @no_reduction(
// CHECK: scf.parallel
func.func @no_reduction(%m: memref<8xf32>, %x: f32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    memref.store %x, %m[%i] : memref<8xf32>
    scf.reduce
  }
  return
}
