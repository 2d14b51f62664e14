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
