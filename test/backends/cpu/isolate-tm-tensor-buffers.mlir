// RUN: fxc-opt %s --fxc-isolate-tm-tensor-buffers | FileCheck %s

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

// A tm_tensor input reads a copy of its tensor, which One-Shot Bufferize
// orders before any in-place write to the tensor's buffer.
// CHECK-LABEL: func.func @input(
// CHECK: %[[COPY:.*]] = bufferization.alloc_tensor() copy(%arg0) : tensor<8xi64>
// CHECK: %[[BUF:.*]] = bufferization.to_buffer %[[COPY]]
// CHECK: tm_tensor.scan dimension(0) inclusive(true) ins(%[[BUF]] : memref<8xi64>)
func.func @input(%t: tensor<8xi64>) -> tensor<8xi64> {
  %in = bufferization.to_buffer %t : tensor<8xi64> to memref<8xi64>
  %alloc = memref.alloc() : memref<8xi64>
  %acc = memref.alloc() : memref<i64>
  tm_tensor.scan dimension(0) inclusive(true) ins(%in : memref<8xi64>) outs(%alloc, %acc : memref<8xi64>, memref<i64>) {
  ^bb0(%a: i64, %b: i64):
    %s = arith.addi %a, %b : i64
    tm_tensor.yield %s : i64
  }
  %r = bufferization.to_tensor %alloc : memref<8xi64> to tensor<8xi64>
  return %r : tensor<8xi64>
}
