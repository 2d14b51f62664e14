// RUN: fxc-opt %s --pass-pipeline='builtin.module(fxc-fuse-elementwise-ops)' | FileCheck %s
// RUN: fxc-opt %s --pass-pipeline='builtin.module(func.func(linalg-fuse-elementwise-ops))' | FileCheck %s --check-prefix=UPSTREAM

// A [1, S, D] x [D, N] linear after an elementwise op, as torch-mlir emits it
// (collapse, matmul, expand).  Upstream's fusion turns the matmul into a
// generic that recomputes the scaling for every output column; fxc's keeps
// the matmul and fuses only the elementwise chain.

// CHECK-LABEL: func.func @scale_then_linear(
// CHECK:         %[[S:.*]] = linalg.generic
// CHECK-SAME:      iterator_types = ["parallel", "parallel", "parallel"]
// CHECK:           arith.mulf
// CHECK:           arith.addf
// CHECK:         tensor.collapse_shape %[[S]]
// CHECK:         linalg.matmul
// CHECK-NOT:     func.call
// CHECK-NOT:     __fxc_kept_
// UPSTREAM-LABEL: func.func @scale_then_linear(
// UPSTREAM-NOT:   linalg.matmul
// UPSTREAM:       iterator_types = ["parallel", "parallel", "parallel", "reduction"]
func.func @scale_then_linear(%x: tensor<1x64x32xf32>, %w: tensor<32x48xf32>) -> tensor<1x64x48xf32> {
  %c2 = arith.constant 2.0 : f32
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x64x32xf32>
  %scaled = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x : tensor<1x64x32xf32>) outs(%e : tensor<1x64x32xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.mulf %in, %c2 : f32
    linalg.yield %m : f32
  } -> tensor<1x64x32xf32>
  %shifted = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%scaled : tensor<1x64x32xf32>) outs(%e : tensor<1x64x32xf32>) {
  ^bb0(%in: f32, %out: f32):
    %a = arith.addf %in, %c2 : f32
    linalg.yield %a : f32
  } -> tensor<1x64x32xf32>
  %flat = tensor.collapse_shape %shifted [[0, 1], [2]] : tensor<1x64x32xf32> into tensor<64x32xf32>
  %init = tensor.empty() : tensor<64x48xf32>
  %fill = linalg.fill ins(%zero : f32) outs(%init : tensor<64x48xf32>) -> tensor<64x48xf32>
  %mm = linalg.matmul ins(%flat, %w : tensor<64x32xf32>, tensor<32x48xf32>) outs(%fill : tensor<64x48xf32>) -> tensor<64x48xf32>
  %r = tensor.expand_shape %mm [[0, 1], [2]] output_shape [1, 64, 48] : tensor<64x48xf32> into tensor<1x64x48xf32>
  return %r : tensor<1x64x48xf32>
}

// Nothing to keep: the pass is upstream's fusion.
// CHECK-LABEL: func.func @chain(
// CHECK-COUNT-1: linalg.generic
// CHECK-NOT:     linalg.generic
func.func @chain(%x: tensor<16xf32>) -> tensor<16xf32> {
  %e = tensor.empty() : tensor<16xf32>
  %a = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} ins(%x : tensor<16xf32>) outs(%e : tensor<16xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.mulf %in, %in : f32
    linalg.yield %m : f32
  } -> tensor<16xf32>
  %b = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} ins(%a : tensor<16xf32>) outs(%e : tensor<16xf32>) {
  ^bb0(%in: f32, %out: f32):
    %n = arith.negf %in : f32
    linalg.yield %n : f32
  } -> tensor<16xf32>
  return %b : tensor<16xf32>
}

// A cheap elementwise producer read by two reductions (LayerNorm's f64
// upcast, read by the mean and by the variance) is copied into each: no
// f64 tensor of the input's size is materialized.  Upstream fuses
// single-use producers only and keeps it.
// CHECK-LABEL: func.func @upcast_read_twice(
// CHECK-NOT:     tensor<8x128xf64>
// CHECK-COUNT-2: arith.extf
// CHECK:         return
// UPSTREAM-LABEL: func.func @upcast_read_twice(
// UPSTREAM:       -> tensor<8x128xf64>
func.func @upcast_read_twice(%x: tensor<8x128xf32>) -> (tensor<8xf64>, tensor<8xf64>) {
  %zero = arith.constant 0.0 : f64
  %e = tensor.empty() : tensor<8x128xf64>
  %up = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%x : tensor<8x128xf32>) outs(%e : tensor<8x128xf64>) {
  ^bb0(%in: f32, %out: f64):
    %w = arith.extf %in : f32 to f64
    linalg.yield %w : f64
  } -> tensor<8x128xf64>
  %r = tensor.empty() : tensor<8xf64>
  %init = linalg.fill ins(%zero : f64) outs(%r : tensor<8xf64>) -> tensor<8xf64>
  %sum = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"]} ins(%up : tensor<8x128xf64>) outs(%init : tensor<8xf64>) {
  ^bb0(%in: f64, %acc: f64):
    %a = arith.addf %in, %acc : f64
    linalg.yield %a : f64
  } -> tensor<8xf64>
  %sq = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"]} ins(%up : tensor<8x128xf64>) outs(%init : tensor<8xf64>) {
  ^bb0(%in: f64, %acc: f64):
    %m = arith.mulf %in, %in : f64
    %a = arith.addf %m, %acc : f64
    linalg.yield %a : f64
  } -> tensor<8xf64>
  return %sum, %sq : tensor<8xf64>, tensor<8xf64>
}

// A producer that a consumer reads broadcast (each element for every index
// of another loop) is not copied into it: fusing would compute each element
// again per broadcast index.
// CHECK-LABEL: func.func @broadcast_read(
// CHECK:         arith.mulf
// CHECK-NOT:     arith.mulf
// CHECK:         return
func.func @broadcast_read(%x: tensor<8x128xf32>) -> (tensor<8x4x128xf32>, tensor<8x128xf32>) {
  %c2 = arith.constant 2.0 : f32
  %e = tensor.empty() : tensor<8x128xf32>
  %s = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%x : tensor<8x128xf32>) outs(%e : tensor<8x128xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.mulf %in, %c2 : f32
    linalg.yield %m : f32
  } -> tensor<8x128xf32>
  %e3 = tensor.empty() : tensor<8x4x128xf32>
  %b = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s : tensor<8x128xf32>) outs(%e3 : tensor<8x4x128xf32>) {
  ^bb0(%in: f32, %out: f32):
    %a = arith.addf %in, %in : f32
    linalg.yield %a : f32
  } -> tensor<8x4x128xf32>
  %n = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%s : tensor<8x128xf32>) outs(%e : tensor<8x128xf32>) {
  ^bb0(%in: f32, %out: f32):
    %a = arith.negf %in : f32
    linalg.yield %a : f32
  } -> tensor<8x128xf32>
  return %b, %n : tensor<8x4x128xf32>, tensor<8x128xf32>
}
