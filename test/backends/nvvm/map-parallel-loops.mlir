// RUN: fxc-opt --pass-pipeline='builtin.module(fxc-nvvm-map-parallel-loops{threads=128})' %s | FileCheck %s

// A 1-D loop of 1000 iterations from 2 by 3 (333 of them): 3 blocks of 128
// threads along x, a guard on the flat index, the induction variable
// rebuilt as 2 + 3 * flat.  A loop with a dynamic bound is left alone.

// CHECK-LABEL: func.func @main
// CHECK: arith.constant 1.000000e+00 : f32
// CHECK-NEXT: arith.constant 1 : index
// CHECK-NEXT: %[[C3:.*]] = arith.constant 3 : index
// CHECK-NEXT: %[[C128:.*]] = arith.constant 128 : index
// CHECK: gpu.launch blocks(%[[BX:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[C3]], %{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}) threads(%[[TX:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[C128]],
// CHECK: %[[M:.*]] = arith.muli %[[BX]], %{{.*}} : index
// CHECK: %[[FLAT:.*]] = arith.addi %[[M]], %[[TX]] : index
// CHECK: %[[TOTAL:.*]] = arith.constant 333 : index
// CHECK: %[[IN:.*]] = arith.cmpi ult, %[[FLAT]], %[[TOTAL]] : index
// CHECK: scf.if %[[IN]] {
// CHECK: %[[S:.*]] = arith.muli %[[FLAT]], %{{.*}} : index
// CHECK: %[[I:.*]] = arith.addi %[[S]], %{{.*}} : index
// CHECK: memref.store %{{.*}}, %arg0[%[[I]]]
// CHECK: gpu.terminator
// CHECK-NOT: scf.parallel
// CHECK-LABEL: func.func @dynamic
// CHECK: scf.parallel
module {
  func.func @main(%arg0: memref<1000xf32>) {
    %c2 = arith.constant 2 : index
    %c3 = arith.constant 3 : index
    %c1000 = arith.constant 1000 : index
    %cst = arith.constant 1.0 : f32
    scf.parallel (%i) = (%c2) to (%c1000) step (%c3) {
      memref.store %cst, %arg0[%i] : memref<1000xf32>
      scf.reduce
    }
    return
  }
  func.func @dynamic(%arg0: memref<?xf32>, %n: index) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %cst = arith.constant 1.0 : f32
    scf.parallel (%i) = (%c0) to (%n) step (%c1) {
      memref.store %cst, %arg0[%i] : memref<?xf32>
      scf.reduce
    }
    return
  }
}
