// RUN: fxc-opt %s --fxc-triton-generate-source | FileCheck %s

// Each kernel function gets its @triton.jit source and launch data; the
// linalg body stays (the stage can be fed back in).  A fused pointwise kernel
// (mul, add, relu) over 4x8: one program of 32 lanes, the broadcast operand
// indexed by the column only, all three ops in one body.

// CHECK-LABEL: func.func private @fxc_kernel_0(
// CHECK-SAME: fxc.kernel = "pointwise"
// CHECK-SAME: fxc.triton.launch = "{\22grid\22: [1, 1, 1], \22meta\22: {\22RBLOCK\22: 1, \22XBLOCK\22: 32}, \22num_warps\22: 4}"
// CHECK-SAME: fxc.triton.source = "@triton.jit\0Adef fxc_kernel_0(in0, in1, out0, XBLOCK: tl.constexpr, RBLOCK: tl.constexpr):
// CHECK-SAME: xmask = xindex < 32
// CHECK: linalg.generic
// CHECK-LABEL: func.func @main(
// CHECK: call @fxc_kernel_0
#map = affine_map<(d0, d1) -> (d0, d1)>
#map1 = affine_map<(d0, d1) -> (d1)>
module {
  func.func private @fxc_kernel_0(%arg0: tensor<4x8xf32>, %arg1: tensor<8xf32>) -> tensor<4x8xf32> attributes {fxc.kernel = "pointwise"} {
    %cst = arith.constant 0.000000e+00 : f32
    %cst_0 = arith.constant 1.000000e+00 : f32
    %0 = tensor.empty() : tensor<4x8xf32>
    %1 = linalg.generic {indexing_maps = [#map, #map1, #map], iterator_types = ["parallel", "parallel"]} ins(%arg0, %arg1 : tensor<4x8xf32>, tensor<8xf32>) outs(%0 : tensor<4x8xf32>) {
    ^bb0(%in: f32, %in_1: f32, %out: f32):
      %4 = arith.mulf %in, %in_1 : f32
      linalg.yield %4 : f32
    } -> tensor<4x8xf32>
    %2 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]} ins(%1 : tensor<4x8xf32>) outs(%0 : tensor<4x8xf32>) {
    ^bb0(%in: f32, %out: f32):
      %4 = arith.addf %in, %cst_0 : f32
      linalg.yield %4 : f32
    } -> tensor<4x8xf32>
    %3 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]} ins(%2 : tensor<4x8xf32>) outs(%0 : tensor<4x8xf32>) {
    ^bb0(%in: f32, %out: f32):
      %4 = arith.cmpf ugt, %in, %cst : f32
      %5 = arith.select %4, %in, %cst : f32
      linalg.yield %5 : f32
    } -> tensor<4x8xf32>
    return %3 : tensor<4x8xf32>
  }
  func.func @main(%arg0: tensor<4x8xf32>, %arg1: tensor<8xf32>) -> tensor<4x8xf32> {
    %0 = call @fxc_kernel_0(%arg0, %arg1) : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
    return %0 : tensor<4x8xf32>
  }
}

