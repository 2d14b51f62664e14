// RUN: fxc-opt %s --split-input-file --fxc-triton-generate-source | FileCheck %s

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


// -----

// A dynamic row (s1): the kernel takes the symbol as an integer argument and
// masks with it; the row's block size, the rows per program and the grid
// are expressions the host plan evaluates at each launch (pow2: the least
// power of two at least its argument), with the persistent-reduction limit.

#map = affine_map<(d0, d1) -> (d0, d1)>
#map1 = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: func.func private @fxc_kernel_0(
// CHECK-SAME: fxc.triton.launch = "{\22grid\22: [\22(-(-4 // (max(1, 4096 // pow2(s1)))))\22, 1, 1], \22limits\22: {\22RBLOCK\22: 32768}, \22meta\22: {\22RBLOCK\22: \22pow2(s1)\22, \22XBLOCK\22: \22max(1, 4096 // pow2(s1))\22}, \22num_warps\22: 8, \22symbols\22: [\22s1\22]}"
// CHECK-SAME: def fxc_kernel_0(in0, out0, s1, XBLOCK: tl.constexpr, RBLOCK: tl.constexpr):
// CHECK-SAME: rmask = rindex < s1
// CHECK-SAME: c1 = rindex % s1
// CHECK-SAME: tl.load(in0 + c0 * s1 + c1
module {
  func.func private @fxc_kernel_0(%arg0: tensor<4x?xf32> {fxc.shape = [4, "s1"]}) -> (tensor<4xf32> {fxc.shape = [4]}) attributes {fxc.kernel = "reduction"} {
    %cst = arith.constant 0.000000e+00 : f32
    %0 = tensor.empty() : tensor<4xf32>
    %1 = linalg.fill ins(%cst : f32) outs(%0 : tensor<4xf32>) -> tensor<4xf32>
    %2 = linalg.generic {indexing_maps = [#map, #map1], iterator_types = ["parallel", "reduction"]} ins(%arg0 : tensor<4x?xf32>) outs(%1 : tensor<4xf32>) {
    ^bb0(%in: f32, %out: f32):
      %3 = arith.addf %in, %out : f32
      linalg.yield %3 : f32
    } -> tensor<4xf32>
    return %2 : tensor<4xf32>
  }
}

// -----

// A size that is an expression other than a symbol (here from the host's
// size arithmetic) is a named integer parameter (z0) of the kernel; the
// launch data says how the plan computes it.

#map = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func.func private @fxc_kernel_0(
// CHECK-SAME: \22aliases\22: {\22z0\22: \22max(s0, 1)\22}
// CHECK-SAME: \22grid\22: [\22(-(-(z0*4) // 512))\22, 1, 1]
// CHECK-SAME: \22symbols\22: [\22z0\22]
// CHECK-SAME: def fxc_kernel_0(in0, out0, z0, XBLOCK: tl.constexpr, RBLOCK: tl.constexpr):
// CHECK-SAME: xmask = xindex < (z0*4)
module {
  func.func private @fxc_kernel_0(%arg0: tensor<?x4xf32> {fxc.shape = ["max(s0, 1)", 4]}, %arg1: index {fxc.size = "max(s0, 1)"}) -> (tensor<?x4xf32> {fxc.shape = ["max(s0, 1)", 4]}) attributes {fxc.kernel = "pointwise"} {
    %0 = tensor.empty(%arg1) : tensor<?x4xf32>
    %1 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]} ins(%arg0 : tensor<?x4xf32>) outs(%0 : tensor<?x4xf32>) {
    ^bb0(%in: f32, %out: f32):
      %2 = math.exp %in : f32
      linalg.yield %2 : f32
    } -> tensor<?x4xf32>
    return %1 : tensor<?x4xf32>
  }
}
