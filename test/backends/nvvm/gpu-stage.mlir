// RUN: fxc-opt --target nvvm --stage gpu %s | FileCheck %s

// The elementwise loop nest is tiled: rows are blocks, 256 columns a block's
// threads; the row reduction keeps its sequential loop, one thread per row.
// Each loop nest becomes one outlined kernel launched in program order.

// CHECK-LABEL: func.func @main
// CHECK: gpu.launch_func @main_kernel::@main_kernel blocks in (%[[C4:.*]], %[[C1:.*]], %[[C1]]) threads in (%[[C1]], %[[C256:.*]], %[[C1]])
// CHECK-SAME: args({{.*}}%arg0 : memref<4x8xf32>, %arg1 : memref<8xf32>{{.*}}%arg2 : memref<4x8xf32>
// CHECK: gpu.launch_func @main_kernel_0::@main_kernel blocks in
// CHECK-NEXT: return
// CHECK: gpu.module @main_kernel
// CHECK: gpu.func @main_kernel({{.*}}) kernel
// CHECK: gpu.block_id x
// CHECK: gpu.thread_id y
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
