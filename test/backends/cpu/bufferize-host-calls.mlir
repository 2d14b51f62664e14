// RUN: fxc-opt %s --fxc-bufferize-host-calls | FileCheck %s

// Host calls on tensors become calls on buffers: arguments by their buffer,
// results in fresh allocations the host fills.

// CHECK: func.func private @fxc_host_0(memref<3xf32>, memref<2x3xi32>)
// CHECK-SAME: fxc.buffer_types = [memref<3xf32>, memref<2x3xi32>], fxc.num_results = 1 : i64
func.func private @fxc_host_0(tensor<3xf32>) -> tensor<2x3xi32> attributes {fxc.args = [{tensor = 0 : i64}], fxc.op = "mylib.f.default", llvm.emit_c_interface}

// CHECK-LABEL: func.func @main(
// CHECK-SAME: %[[X:.*]]: tensor<3xf32>
// CHECK: %[[B:.*]] = bufferization.to_buffer %[[X]] read_only : tensor<3xf32> to memref<3xf32>
// CHECK: %[[A:.*]] = memref.alloc() : memref<2x3xi32>
// CHECK: call @fxc_host_0(%[[B]], %[[A]]) : (memref<3xf32>, memref<2x3xi32>) -> ()
// CHECK: %[[T:.*]] = bufferization.to_tensor %[[A]] restrict writable : memref<2x3xi32> to tensor<2x3xi32>
// CHECK: return %[[T]]
func.func @main(%x: tensor<3xf32>) -> tensor<2x3xi32> {
  %0 = call @fxc_host_0(%x) : (tensor<3xf32>) -> tensor<2x3xi32>
  return %0 : tensor<2x3xi32>
}

// A result of dynamic size is sized by the call's trailing fxc.result_sizes
// operands (0-d i64 tensors, one per dynamic dimension).
// CHECK: func.func private @fxc_host_1(memref<?xf32>, memref<i64>, memref<?x4xf32>)
func.func private @fxc_host_1(tensor<?xf32>, tensor<i64>) -> tensor<?x4xf32> attributes {fxc.args = [{tensor = 0 : i64}], fxc.op = "mylib.g.default", fxc.result_sizes = 1 : i64, llvm.emit_c_interface}

// CHECK-LABEL: func.func @dynamic(
// CHECK-SAME: %[[X:.*]]: tensor<?xf32>, %[[N:.*]]: tensor<i64>
// CHECK: %[[E:.*]] = tensor.extract %[[N]][] : tensor<i64>
// CHECK: %[[I:.*]] = arith.index_cast %[[E]] : i64 to index
// CHECK: %[[A:.*]] = memref.alloc(%[[I]]) : memref<?x4xf32>
// CHECK: call @fxc_host_1(%{{.*}}, %{{.*}}, %[[A]])
func.func @dynamic(%x: tensor<?xf32>, %n: tensor<i64>) -> tensor<?x4xf32> {
  %0 = call @fxc_host_1(%x, %n) : (tensor<?xf32>, tensor<i64>) -> tensor<?x4xf32>
  return %0 : tensor<?x4xf32>
}
