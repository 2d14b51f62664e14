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
