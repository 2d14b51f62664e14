// RUN: fxc-opt --pass-pipeline='builtin.module(fxc-nvvm-block-reductions)' %s | FileCheck %s
// RUN: fxc-opt --target nvvm --stage gpu --stage nvvm %s | FileCheck %s --check-prefix=NVVM

// softmax's row sum over 1000 elements (output map (d0, 0)): one block of 256
// threads per row, each folding a strided part of the row from 0.0, the
// block's partials combined by gpu.all_reduce, thread 0 adding the initial
// value and storing.  The 100-element row of @short keeps its loop.

// CHECK-LABEL: func.func @main
// CHECK: %[[ROWS:.*]] = arith.constant 24 : index
// CHECK: %[[THREADS:.*]] = arith.constant 256 : index
// CHECK: gpu.launch blocks(%[[BX:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[ROWS]], %{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}) threads(%[[TX:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[THREADS]],
// CHECK: %[[ROW:.*]] = arith.remui %[[BX]], %{{.*}} : index
// CHECK: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK: %[[PART:.*]] = scf.for %[[K:.*]] = %[[TX]] to %{{.*}} step %{{.*}} iter_args(%[[ACC:.*]] = %[[ZERO]]) -> (f32) {
// CHECK: %[[X:.*]] = memref.load %arg0[%[[ROW]], %[[K]]]
// CHECK: %[[E:.*]] = math.exp %[[X]]
// CHECK: %[[S:.*]] = arith.addf %[[E]], %[[ACC]]
// CHECK: scf.yield %[[S]]
// CHECK: %[[TOTAL:.*]] = gpu.all_reduce add %[[PART]] uniform {
// CHECK: scf.if
// CHECK: %[[OLD:.*]] = memref.load %arg1[%[[ROW]], %{{.*}}]
// CHECK: %[[NEW:.*]] = arith.addf %[[TOTAL]], %[[OLD]]
// CHECK: memref.store %[[NEW]], %arg1[%[[ROW]], %{{.*}}]
// CHECK: gpu.terminator
// CHECK-NOT: linalg.generic

// A full reduction over 64x48 (x.amax()): one block; the 3072 reduced
// elements are a flat loop, delinearized into both dims.
// CHECK-LABEL: func.func @full
// CHECK: arith.constant 1 : index
// CHECK-NEXT: %[[ROWS:.*]] = arith.constant 1 : index
// CHECK-NEXT: arith.constant 256 : index
// CHECK-NEXT: gpu.launch blocks({{.*}}) in (%{{.*}} = %[[ROWS]],
// CHECK: %[[NEG:.*]] = arith.constant 0xFF800000 : f32
// CHECK: %[[TOTAL:.*]] = arith.constant 3072 : index
// CHECK: scf.for %[[K:.*]] = %{{.*}} to %[[TOTAL]] step %{{.*}} iter_args(%{{.*}} = %[[NEG]]) -> (f32) {
// CHECK: %[[J:.*]] = arith.remui %[[K]]
// CHECK: %[[I:.*]] = arith.divui %[[K]]
// CHECK: memref.load %arg0[%[[I]], %[[J]]]
// CHECK: arith.maximumf
// CHECK: gpu.all_reduce maximumf
// CHECK-LABEL: func.func @short
// CHECK-NOT: gpu.launch
// CHECK: linalg.generic

// The all-reduce lowered by convert-gpu-to-nvvm: a shared-memory slot per
// warp, butterfly shuffles within warps, a barrier between the two levels.
// NVVM: llvm.mlir.global internal @__wg_{{.*}} {addr_space = 3 : i32} : !llvm.array<32 x f32>
// NVVM: nvvm.shfl.sync bfly
// NVVM: nvvm.barrier
// NVVM: nvvm.shfl.sync bfly
#map2 = affine_map<(d0, d1) -> (d0, d1)>
#map3 = affine_map<(d0, d1) -> (d0, 0)>
module {
  func.func @main(%arg0: memref<24x1000xf32>, %arg1: memref<24x1xf32>) {
    linalg.generic {indexing_maps = [#map2, #map3], iterator_types = ["parallel", "reduction"]} ins(%arg0 : memref<24x1000xf32>) outs(%arg1 : memref<24x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %e = math.exp %in : f32
      %0 = arith.addf %e, %out : f32
      linalg.yield %0 : f32
    }
    return
  }
  func.func @full(%arg0: memref<64x48xf32>, %arg1: memref<f32>) {
    linalg.generic {indexing_maps = [#map2, affine_map<(d0, d1) -> ()>], iterator_types = ["reduction", "reduction"]} ins(%arg0 : memref<64x48xf32>) outs(%arg1 : memref<f32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.maximumf %in, %out : f32
      linalg.yield %0 : f32
    }
    return
  }
  func.func @short(%arg0: memref<24x100xf32>, %arg1: memref<24x1xf32>) {
    linalg.generic {indexing_maps = [#map2, #map3], iterator_types = ["parallel", "reduction"]} ins(%arg0 : memref<24x100xf32>) outs(%arg1 : memref<24x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.addf %in, %out : f32
      linalg.yield %0 : f32
    }
    return
  }
}
