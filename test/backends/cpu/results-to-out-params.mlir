// RUN: fxc-opt %s --split-input-file --fxc-results-to-out-params | FileCheck %s

// Static results: caller-allocated out-params, the static allocation hoisted
// into the caller's buffer (no copy).
// CHECK-LABEL: func.func @main(
// CHECK-SAME: %[[X:.*]]: memref<4xf32>, %[[OUT:.*]]: memref<4xf32>) {
// CHECK-NOT: memref.alloc
// CHECK: linalg.generic {{.*}} outs(%[[OUT]] : memref<4xf32>)
// CHECK: return
// CHECK-NOT: -> memref
func.func @main(%x: memref<4xf32>) -> memref<4xf32> {
  %r = memref.alloc() : memref<4xf32>
  linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]}
      ins(%x : memref<4xf32>) outs(%r : memref<4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %y = arith.addf %in, %in : f32
    linalg.yield %y : f32
  }
  return %r : memref<4xf32>
}

// -----

// A dynamic result (a data-dependent or symbolic size): the function keeps
// returning the buffer it allocated.
// CHECK-LABEL: func.func @main(
// CHECK-SAME: %{{.*}}: memref<?xf32>, %[[N:.*]]: index) -> memref<?xf32>
// CHECK: %[[R:.*]] = memref.alloc(%[[N]]) : memref<?xf32>
// CHECK: return %[[R]] : memref<?xf32>
func.func @main(%x: memref<?xf32>, %n: index) -> memref<?xf32> {
  %r = memref.alloc(%n) : memref<?xf32>
  return %r : memref<?xf32>
}
