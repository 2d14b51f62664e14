// RUN: fxc-opt %s --split-input-file --fxc-triton-outline-kernels | FileCheck %s

// The matmul is a matmul kernel; its bias add and relu are read only by the
// softmax, so they fuse into the softmax's reduction kernel with max, sub,
// exp, sum and div (7 generics, one pass over the row); the host function
// calls both kernels in program order, around the effect.

#map = affine_map<(d0, d1) -> (d0, d1)>
#map1 = affine_map<(d0, d1) -> (d0, 0)>
#map2 = affine_map<(d0, d1) -> (d1)>
#map3 = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: func.func private @fxc_kernel_0
// CHECK-SAME: attributes {fxc.kernel = "matmul"}
// CHECK: linalg.fill
// CHECK-NEXT: linalg.matmul
// CHECK-NEXT: return
// CHECK-LABEL: func.func private @fxc_kernel_1
// CHECK-SAME: attributes {fxc.kernel = "reduction"}
// CHECK-COUNT-7: linalg.generic
// CHECK-NOT: linalg.generic
// CHECK: return
// CHECK-LABEL: func.func @main
// CHECK: %[[MM:.*]] = call @fxc_kernel_0(%arg0, %arg1)
// CHECK-NEXT: call @fxc_host_0()
// CHECK: %[[SM:.*]] = call @fxc_kernel_1(%[[MM]], %arg2)
// CHECK-NEXT: return %[[SM]]
module {
  func.func private @fxc_host_0() attributes {fxc.args = [{value = "hi"}], fxc.dtypes = [], fxc.op = "aten._print.default"}
  func.func @main(%arg0: tensor<4x8xf32>, %arg1: tensor<8x16xf32>, %arg2: tensor<16xf32>) -> tensor<4x16xf32> {
    %cst = arith.constant 0.000000e+00 : f32
    %ninf = arith.constant 0xFF800000 : f32
    %0 = tensor.empty() : tensor<4x16xf32>
    %1 = linalg.fill ins(%cst : f32) outs(%0 : tensor<4x16xf32>) -> tensor<4x16xf32>
    %2 = linalg.matmul ins(%arg0, %arg1 : tensor<4x8xf32>, tensor<8x16xf32>) outs(%1 : tensor<4x16xf32>) -> tensor<4x16xf32>
    %3 = linalg.generic {indexing_maps = [#map, #map2, #map], iterator_types = ["parallel", "parallel"]} ins(%2, %arg2 : tensor<4x16xf32>, tensor<16xf32>) outs(%0 : tensor<4x16xf32>) {
    ^bb0(%in: f32, %b: f32, %out: f32):
      %x = arith.addf %in, %b : f32
      linalg.yield %x : f32
    } -> tensor<4x16xf32>
    %4 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]} ins(%3 : tensor<4x16xf32>) outs(%0 : tensor<4x16xf32>) {
    ^bb0(%in: f32, %out: f32):
      %c = arith.cmpf ugt, %in, %cst : f32
      %s = arith.select %c, %in, %cst : f32
      linalg.yield %s : f32
    } -> tensor<4x16xf32>
    call @fxc_host_0() : () -> ()
    %e1 = tensor.empty() : tensor<4xf32>
    %m0 = linalg.fill ins(%ninf : f32) outs(%e1 : tensor<4xf32>) -> tensor<4xf32>
    %m = linalg.generic {indexing_maps = [#map, #map3], iterator_types = ["parallel", "reduction"]} ins(%4 : tensor<4x16xf32>) outs(%m0 : tensor<4xf32>) {
    ^bb0(%in: f32, %out: f32):
      %x = arith.maximumf %in, %out : f32
      linalg.yield %x : f32
    } -> tensor<4xf32>
    %mx = tensor.expand_shape %m [[0, 1]] output_shape [4, 1] : tensor<4xf32> into tensor<4x1xf32>
    %d = linalg.generic {indexing_maps = [#map, #map1, #map], iterator_types = ["parallel", "parallel"]} ins(%4, %mx : tensor<4x16xf32>, tensor<4x1xf32>) outs(%0 : tensor<4x16xf32>) {
    ^bb0(%in: f32, %mm: f32, %out: f32):
      %x = arith.subf %in, %mm : f32
      linalg.yield %x : f32
    } -> tensor<4x16xf32>
    %ex = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]} ins(%d : tensor<4x16xf32>) outs(%0 : tensor<4x16xf32>) {
    ^bb0(%in: f32, %out: f32):
      %x = math.exp %in : f32
      linalg.yield %x : f32
    } -> tensor<4x16xf32>
    %e2 = tensor.empty() : tensor<4x1xf32>
    %s0 = linalg.fill ins(%cst : f32) outs(%e2 : tensor<4x1xf32>) -> tensor<4x1xf32>
    %s = linalg.generic {indexing_maps = [#map, #map1], iterator_types = ["parallel", "reduction"]} ins(%ex : tensor<4x16xf32>) outs(%s0 : tensor<4x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %x = arith.addf %in, %out : f32
      linalg.yield %x : f32
    } -> tensor<4x1xf32>
    %r = linalg.generic {indexing_maps = [#map, #map1, #map], iterator_types = ["parallel", "parallel"]} ins(%ex, %s : tensor<4x16xf32>, tensor<4x1xf32>) outs(%0 : tensor<4x16xf32>) {
    ^bb0(%in: f32, %ss: f32, %out: f32):
      %x = arith.divf %in, %ss : f32
      linalg.yield %x : f32
    } -> tensor<4x16xf32>
    return %r : tensor<4x16xf32>
  }
}

// -----

// Dynamic sizes: a dynamic batch (s0, from the argument's fxc.shape) reaches
// the kernel as an index argument annotated with its symbol; every kernel
// argument and result carries its symbolic shape, and the size arithmetic
// (tensor.dim) stays in the host function.

#map = affine_map<(d0, d1) -> (d0, d1)>
#map1 = affine_map<(d0, d1) -> (d1)>
#map2 = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: func.func private @fxc_kernel_0(
// CHECK-SAME: %arg0: tensor<?x8xf32> {fxc.shape = ["s0", 8]}, %arg1: tensor<8xf32> {fxc.shape = [8]}, %arg2: index {fxc.size = "s0"})
// CHECK-SAME: -> (tensor<?xf32> {fxc.shape = ["s0"]})
// CHECK-SAME: fxc.kernel = "reduction"
// CHECK: tensor.empty(%arg2) : tensor<?xf32>
// CHECK-LABEL: func.func @main
// CHECK: %[[DIM:.*]] = tensor.dim %arg0
// CHECK: %[[R:.*]] = call @fxc_kernel_0(%arg0, %arg1, %[[DIM]])
// CHECK-NEXT: return %[[R]]
module {
  func.func @main(%arg0: tensor<?x8xf32> {fxc.shape = ["s0", 8]}, %arg1: tensor<8xf32>) -> tensor<?xf32> attributes {fxc.symbols = {s0 = [1, 1024]}} {
    %c0 = arith.constant 0 : index
    %cst = arith.constant 0.000000e+00 : f32
    %dim = tensor.dim %arg0, %c0 : tensor<?x8xf32>
    %0 = tensor.empty(%dim) : tensor<?x8xf32>
    %1 = linalg.generic {indexing_maps = [#map, #map1, #map], iterator_types = ["parallel", "parallel"]} ins(%arg0, %arg1 : tensor<?x8xf32>, tensor<8xf32>) outs(%0 : tensor<?x8xf32>) {
    ^bb0(%in: f32, %in_1: f32, %out: f32):
      %7 = arith.mulf %in, %in_1 : f32
      linalg.yield %7 : f32
    } -> tensor<?x8xf32>
    %4 = tensor.empty(%dim) : tensor<?xf32>
    %5 = linalg.fill ins(%cst : f32) outs(%4 : tensor<?xf32>) -> tensor<?xf32>
    %6 = linalg.generic {indexing_maps = [#map, #map2], iterator_types = ["parallel", "reduction"]} ins(%1 : tensor<?x8xf32>) outs(%5 : tensor<?xf32>) {
    ^bb0(%in: f32, %out: f32):
      %7 = arith.addf %in, %out : f32
      linalg.yield %7 : f32
    } -> tensor<?xf32>
    return %6 : tensor<?xf32>
  }
}

// -----

// Data movement joins the kernel that reads it: the slice, the scaling and
// the concat are one pointwise kernel (the concat is its root), read straight
// from the arguments.

#map = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func.func private @fxc_kernel_0(
// CHECK-SAME: fxc.kernel = "pointwise"
// CHECK: tensor.extract_slice %arg0[0, 1] [4, 3] [1, 1]
// CHECK: linalg.generic
// CHECK: tensor.concat dim(1)
// CHECK-LABEL: func.func @main
// CHECK-NOT: tensor.{{extract_slice|concat}}
// CHECK: %[[R:.*]] = call @fxc_kernel_0(%arg0, %arg1)
// CHECK-NEXT: return %[[R]]
module {
  func.func @main(%arg0: tensor<4x4xf32>, %arg1: tensor<4x5xf32>) -> tensor<4x8xf32> {
    %cst = arith.constant 2.000000e+00 : f32
    %extracted_slice = tensor.extract_slice %arg0[0, 1] [4, 3] [1, 1] : tensor<4x4xf32> to tensor<4x3xf32>
    %0 = tensor.empty() : tensor<4x5xf32>
    %1 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]} ins(%arg1 : tensor<4x5xf32>) outs(%0 : tensor<4x5xf32>) {
    ^bb0(%in: f32, %out: f32):
      %2 = arith.mulf %in, %cst : f32
      linalg.yield %2 : f32
    } -> tensor<4x5xf32>
    %concat = tensor.concat dim(1) %extracted_slice, %1 : (tensor<4x3xf32>, tensor<4x5xf32>) -> tensor<4x8xf32>
    return %concat : tensor<4x8xf32>
  }
}
