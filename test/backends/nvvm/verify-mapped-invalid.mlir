// RUN: not fxc-opt --pass-pipeline='builtin.module(fxc-nvvm-verify-mapped)' %s 2>&1 | FileCheck %s

// A loop left on the host is an op the backend did not map to a kernel.

// CHECK: error: fxc's NVVM backend cannot map 'scf.for' to GPU kernels yet
module {
  func.func @main(%arg0: memref<4xf32>) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c4 = arith.constant 4 : index
    %cst = arith.constant 0.0 : f32
    scf.for %i = %c0 to %c4 step %c1 {
      memref.store %cst, %arg0[%i] : memref<4xf32>
    }
    return
  }
}
