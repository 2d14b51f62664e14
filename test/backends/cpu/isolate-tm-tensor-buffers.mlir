// RUN: fxc-opt %s --fxc-restrict-fresh-to-tensor | FileCheck %s

// tm-tensor-bufferize's output buffers are fresh allocations viewed as a
// tensor once: restrict (One-Shot Bufferize analyses only those).

// CHECK-LABEL: func.func @fresh(
// CHECK: bufferization.to_tensor %{{.*}} restrict : memref<8xi64>
func.func @fresh() -> tensor<8xi64> {
  %alloc = memref.alloc() : memref<8xi64>
  %t = bufferization.to_tensor %alloc : memref<8xi64> to tensor<8xi64>
  return %t : tensor<8xi64>
}

// A buffer from elsewhere, or viewed twice, may alias: left alone.
// CHECK-LABEL: func.func @argument(
// CHECK-NOT: restrict
func.func @argument(%m: memref<8xi64>) -> tensor<8xi64> {
  %t = bufferization.to_tensor %m : memref<8xi64> to tensor<8xi64>
  return %t : tensor<8xi64>
}

// CHECK-LABEL: func.func @twice(
// CHECK-NOT: restrict
func.func @twice() -> (tensor<8xi64>, tensor<8xi64>) {
  %alloc = memref.alloc() : memref<8xi64>
  %t = bufferization.to_tensor %alloc : memref<8xi64> to tensor<8xi64>
  %u = bufferization.to_tensor %alloc : memref<8xi64> to tensor<8xi64>
  return %t, %u : tensor<8xi64>, tensor<8xi64>
}
