// RUN: fxc-opt %s --fxc-distinct-results | FileCheck %s

// A value returned twice gets a copy for its second place; distinct values
// and private functions are left alone.

// CHECK-LABEL: func.func @twice(
// CHECK-SAME: %[[X:.*]]: tensor<3xf32>
// CHECK: %[[Y:.*]] = arith.addf
// CHECK: %[[E:.*]] = tensor.empty() : tensor<3xf32>
// CHECK: %[[C:.*]] = linalg.copy {{.*}}ins(%[[Y]] : tensor<3xf32>) outs(%[[E]] : tensor<3xf32>) -> tensor<3xf32>
// CHECK: return %[[Y]], %[[C]], %[[X]]
func.func @twice(%x: tensor<3xf32>) -> (tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) {
  %y = arith.addf %x, %x : tensor<3xf32>
  return %y, %y, %x : tensor<3xf32>, tensor<3xf32>, tensor<3xf32>
}

// CHECK-LABEL: func.func @dynamic(
// CHECK: %[[D:.*]] = tensor.dim %arg0, %c0
// CHECK: tensor.empty(%[[D]]) : tensor<?xf32>
// CHECK: linalg.copy
func.func @dynamic(%x: tensor<?xf32>) -> (tensor<?xf32>, tensor<?xf32>) {
  return %x, %x : tensor<?xf32>, tensor<?xf32>
}

// CHECK-LABEL: func.func private @helper(
// CHECK-NOT: linalg.copy
// CHECK: return %arg0, %arg0
func.func private @helper(%x: tensor<3xf32>) -> (tensor<3xf32>, tensor<3xf32>) {
  return %x, %x : tensor<3xf32>, tensor<3xf32>
}
