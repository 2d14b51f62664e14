// RUN: fxc-opt %s --pass-pipeline='builtin.module(fxc-fold-constant-transposes)' | FileCheck %s

// A frozen weight's transpose (linear's) is computed at compile time: a new
// blob holding [[0, 3], [1, 4], [2, 5]] replaces the transpose of
// [[0, 1, 2], [3, 4, 5]]; the original, now unused, goes.
// CHECK-LABEL: func.func @linear_weight(
// CHECK-NOT:     linalg.transpose
// CHECK:         %[[W:.*]] = arith.constant dense_resource<w_t> : tensor<3x2xf32>
// CHECK:         linalg.matmul ins(%{{.*}}, %[[W]] : tensor<4x3xf32>, tensor<3x2xf32>)
func.func @linear_weight(%x: tensor<4x3xf32>) -> tensor<4x2xf32> {
  %w = arith.constant dense_resource<w> : tensor<2x3xf32>
  %e = tensor.empty() : tensor<3x2xf32>
  %t = linalg.transpose ins(%w : tensor<2x3xf32>) outs(%e : tensor<3x2xf32>) permutation = [1, 0]
  %z = arith.constant 0.0 : f32
  %o = tensor.empty() : tensor<4x2xf32>
  %f = linalg.fill ins(%z : f32) outs(%o : tensor<4x2xf32>) -> tensor<4x2xf32>
  %r = linalg.matmul ins(%x, %t : tensor<4x3xf32>, tensor<3x2xf32>) outs(%f : tensor<4x2xf32>) -> tensor<4x2xf32>
  return %r : tensor<4x2xf32>
}

// A splat folds to the splat of the transposed shape; a transpose of a
// value that is not a constant stays.
// CHECK-LABEL: func.func @splat_and_input(
// CHECK:         arith.constant dense<1.500000e+00> : tensor<3x2xf32>
// CHECK:         linalg.transpose ins(%arg0
func.func @splat_and_input(%x: tensor<2x3xf32>) -> (tensor<3x2xf32>, tensor<3x2xf32>) {
  %c = arith.constant dense<1.5> : tensor<2x3xf32>
  %e = tensor.empty() : tensor<3x2xf32>
  %t = linalg.transpose ins(%c : tensor<2x3xf32>) outs(%e : tensor<3x2xf32>) permutation = [1, 0]
  %u = linalg.transpose ins(%x : tensor<2x3xf32>) outs(%e : tensor<3x2xf32>) permutation = [1, 0]
  return %t, %u : tensor<3x2xf32>, tensor<3x2xf32>
}

// CHECK: w_t: "0x0400000000000000000040400000803F00008040000000400000A040"
{-#
  dialect_resources: {
    builtin: {
      w: "0x04000000000000000000803F0000004000004040000080400000A040"
    }
  }
#-}
