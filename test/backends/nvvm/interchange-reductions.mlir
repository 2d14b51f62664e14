// RUN: fxc-opt --pass-pipeline='builtin.module(fxc-nvvm-interchange-reductions)' %s | FileCheck %s
// RUN: fxc-opt --pass-pipeline='builtin.module(fxc-nvvm-interchange-reductions,func.func(convert-linalg-to-parallel-loops))' %s | FileCheck %s --check-prefix=LOOPS

// A reduction over the leading dim (x.amax(0)): the kept dim becomes d0, the
// reduced one d1, and linalg.index follows the renaming.  The loops are then a
// parallel loop over the kept dim with the reduction sequential inside.

// CHECK-DAG: #[[IN:.*]] = affine_map<(d0, d1) -> (d1, d0)>
// CHECK-DAG: #[[OUT:.*]] = affine_map<(d0, d1) -> (d0)>
// CHECK-DAG: #[[ID:.*]] = affine_map<(d0) -> (d0)>
// CHECK: linalg.generic {indexing_maps = [#[[IN]], #[[OUT]]], iterator_types = ["parallel", "reduction"]}
// CHECK: linalg.index 1 : index
// CHECK: linalg.index 0 : index
// CHECK: linalg.generic {indexing_maps = [#[[ID]], #[[ID]]], iterator_types = ["parallel"]}

// LOOPS: scf.parallel (%[[J:.*]]) = (%{{.*}}) to (%{{.*}}) step (%{{.*}}) {
// LOOPS-NEXT: scf.for %[[I:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// LOOPS-NEXT: memref.load %arg0[%[[I]], %[[J]]]
#map = affine_map<(d0, d1) -> (d0, d1)>
#map1 = affine_map<(d0, d1) -> (d1)>
#map2 = affine_map<(d0) -> (d0)>
module {
  func.func @main(%arg0: memref<64x32xf32>, %arg1: memref<32xf32>, %arg2: memref<32xf32>) {
    linalg.generic {indexing_maps = [#map, #map1], iterator_types = ["reduction", "parallel"]} ins(%arg0 : memref<64x32xf32>) outs(%arg1 : memref<32xf32>) {
    ^bb0(%in: f32, %out: f32):
      %i = linalg.index 0 : index
      %j = linalg.index 1 : index
      %s = arith.addi %i, %j : index
      %c = arith.index_cast %s : index to i32
      %f = arith.sitofp %c : i32 to f32
      %a = arith.addf %in, %f : f32
      %0 = arith.maximumf %a, %out : f32
      linalg.yield %0 : f32
    }
    linalg.generic {indexing_maps = [#map2, #map2], iterator_types = ["parallel"]} ins(%arg1 : memref<32xf32>) outs(%arg2 : memref<32xf32>) {
    ^bb0(%in: f32, %out: f32):
      linalg.yield %in : f32
    }
    return
  }
}
