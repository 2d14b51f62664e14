// RUN: fxc-opt --pass-pipeline='builtin.module(fxc-nvvm-wrap-serial-code)' %s | FileCheck %s
// RUN: fxc-opt --target nvvm --stage gpu %s | FileCheck %s --check-prefix=GPU

// x.mean() after convert-linalg-to-parallel-loops: a store, a loop nest and
// scalar code with no parallel loop.  They move, in order, into one
// one-iteration scf.parallel; constants and the host's ops stay outside.

// CHECK-LABEL: func.func @main
// CHECK: arith.constant 2.048
// CHECK: scf.parallel (%{{.*}}) = (%[[C0:.*]]) to (%[[C1:.*]]) step (%[[C1]]) {
// CHECK-NEXT: memref.store
// CHECK-NEXT: scf.for
// CHECK: arith.divf
// CHECK-NEXT: memref.store
// CHECK-NEXT: scf.reduce
// CHECK-NEXT: }
// CHECK-NEXT: return

// GPU: gpu.launch_func @main_kernel::@main_kernel blocks in (%[[ONE:.*]], %[[ONE]], %[[ONE]]) threads in (%[[ONE]], %[[ONE]], %[[ONE]])
// GPU-NEXT: return
module {
  func.func @main(%arg0: memref<64x32xf32>, %arg1: memref<f32>) {
    %c32 = arith.constant 32 : index
    %c1 = arith.constant 1 : index
    %c64 = arith.constant 64 : index
    %c0 = arith.constant 0 : index
    %cst = arith.constant 0.000000e+00 : f32
    %cst_0 = arith.constant 2.048000e+03 : f32
    memref.store %cst, %arg1[] : memref<f32>
    scf.for %arg2 = %c0 to %c64 step %c1 {
      scf.for %arg3 = %c0 to %c32 step %c1 {
        %2 = memref.load %arg0[%arg2, %arg3] : memref<64x32xf32>
        %3 = memref.load %arg1[] : memref<f32>
        %4 = arith.addf %2, %3 : f32
        memref.store %4, %arg1[] : memref<f32>
      }
    }
    %0 = memref.load %arg1[] : memref<f32>
    %1 = arith.divf %0, %cst_0 : f32
    memref.store %1, %arg1[] : memref<f32>
    return
  }
}
