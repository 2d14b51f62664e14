// RUN: fxc-opt --target nvvm --stage gpu %s | FileCheck %s

// Each loop nest is one outlined kernel over its linearized iterations,
// launched in program order: the 4x8 elementwise nest is 32 threads (the
// column index fastest), the short row reduction one thread per row keeping
// its sequential loop.

// CHECK-LABEL: func.func @main
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG: %[[C4:.*]] = arith.constant 4 : index
// CHECK-DAG: %[[C32:.*]] = arith.constant 32 : index
// CHECK: gpu.launch_func @main_kernel::@main_kernel blocks in (%[[C1]], %[[C1]], %[[C1]]) threads in (%[[C32]], %[[C1]], %[[C1]])
// CHECK-SAME: args(%arg0 : memref<4x8xf32>, %arg1 : memref<8xf32>, %arg2 : memref<4x8xf32>)
// CHECK: gpu.launch_func @main_kernel_0::@main_kernel blocks in (%[[C1]], %[[C1]], %[[C1]]) threads in (%[[C4]], %[[C1]], %[[C1]])
// CHECK-NEXT: return
// CHECK: gpu.module @main_kernel
// CHECK: gpu.func @main_kernel({{.*}}) kernel
// CHECK: %[[BX:.*]] = gpu.block_id x
// CHECK: %[[TX:.*]] = gpu.thread_id x
// CHECK: %[[FLAT:.*]] = arith.addi %{{.*}}, %[[TX]] : index
// CHECK: scf.if
// CHECK: %[[COL:.*]] = arith.remui %[[FLAT]]
// CHECK: %[[ROW:.*]] = arith.divui %[[FLAT]]
// CHECK: memref.load %arg0[%[[ROW]], %[[COL]]]
// CHECK: math.exp
// CHECK: gpu.module @main_kernel_0
// CHECK: scf.for
#map = affine_map<(d0, d1) -> (d0, d1)>
#map1 = affine_map<(d0, d1) -> (d1)>
#map2 = affine_map<(d0, d1) -> (d0)>
module {
  func.func @main(%arg0: memref<4x8xf32>, %arg1: memref<8xf32>, %arg2: memref<4x8xf32>, %arg3: memref<4xf32>) {
    linalg.generic {indexing_maps = [#map, #map1, #map], iterator_types = ["parallel", "parallel"]} ins(%arg0, %arg1 : memref<4x8xf32>, memref<8xf32>) outs(%arg2 : memref<4x8xf32>) {
    ^bb0(%in: f32, %in_1: f32, %out: f32):
      %0 = arith.mulf %in, %in_1 : f32
      %1 = math.exp %0 : f32
      linalg.yield %1 : f32
    }
    linalg.generic {indexing_maps = [#map, #map2], iterator_types = ["parallel", "reduction"]} ins(%arg2 : memref<4x8xf32>) outs(%arg3 : memref<4xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.addf %in, %out : f32
      linalg.yield %0 : f32
    }
    return
  }
}
