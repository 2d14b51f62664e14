// RUN: fxc-opt %s --pass-pipeline='builtin.module(fxc-convert-linalg-to-vector{vector-bits=512 parallel=true})' | FileCheck %s --check-prefix=AVX512
// RUN: fxc-opt %s --pass-pipeline='builtin.module(fxc-convert-linalg-to-vector{vector-bits=256})' | FileCheck %s --check-prefix=AVX2

// A float matmul: cache tiles (an scf.forall when parallel), then an
// mr x (2 * lanes) register tile whose accumulator is loaded once, carried
// through the K loop and updated by one vector.fma per row, then stored.
// The register tiles go down a column of the cache tile before the next
// (B's panel stays in L1).

// AVX512-LABEL: func.func @matmul(
// AVX512: scf.forall (%{{.*}}, %{{.*}}) in (2, 2) {
// AVX512:   scf.for %{{.*}} = %c0 to %c256 step %c32 {
// AVX512:     scf.for %{{.*}} = %c0 to %c64 step %c8 {
// AVX512:       vector.load %{{.*}} vector<32xf32>
// AVX512:       %{{.*}} = scf.for %{{.*}} = %c0 to %c32 step %c1 iter_args(%{{.*}} = %{{.*}}) -> (vector<8x32xf32>) {
// AVX512-COUNT-8: vector.fma %{{.*}} : vector<32xf32>
// AVX512:         scf.yield %{{.*}} : vector<8x32xf32>
// AVX512-COUNT-8: vector.store %{{.*}} vector<32xf32>
// AVX512-NOT: linalg.matmul

// Without parallel, the cache tiles are scf.for loops.  AVX2's 16
// registers take 6 x 16 register tiles (12 accumulators): the 128 rows
// split into 126 of them and a remainder of 2 rows with 2 x 16 tiles.
// AVX2-LABEL: func.func @matmul(
// AVX2-NOT: scf.forall
// AVX2: memref.subview %arg0[0, 0] [126, 32] [1, 1]
// AVX2: scf.for %{{.*}} = %c0 to %c126 step %c42 {
// AVX2:   scf.for %{{.*}} = %c0 to %c512 step %c256 {
// AVX2:     scf.for %{{.*}} = %c0 to %c256 step %c16 {
// AVX2:       scf.for %{{.*}} = %c0 to %c42 step %c6 {
// AVX2: iter_args(%{{.*}} = %{{.*}}) -> (vector<6x16xf32>) {
// AVX2-COUNT-6: vector.fma %{{.*}} : vector<16xf32>
// AVX2: memref.subview %arg0[126, 0] [2, 32] [1, 1]
// AVX2: iter_args(%{{.*}} = %{{.*}}) -> (vector<2x16xf32>) {
// AVX2-COUNT-2: vector.fma %{{.*}} : vector<16xf32>
// AVX2-NOT: linalg.matmul
func.func @matmul(%a: memref<128x32xf32>, %b: memref<32x512xf32>, %c: memref<128x512xf32>) {
  linalg.matmul ins(%a, %b : memref<128x32xf32>, memref<32x512xf32>) outs(%c : memref<128x512xf32>)
  return
}

// An elementwise generic: the innermost dimension in 4 * lanes vectors.
// AVX512-LABEL: func.func @relu(
// AVX512: scf.for %{{.*}} = %c0 to %c256 step %c64 {
// AVX512:   %[[X:.*]] = vector.load %{{.*}} vector<64xf32>
// AVX512:   %[[R:.*]] = arith.maximumf %[[X]], %{{.*}} : vector<64xf32>
// AVX512:   vector.store %[[R]], %{{.*}} vector<64xf32>
// AVX2-LABEL: func.func @relu(
// AVX2: arith.maximumf %{{.*}} : vector<32xf32>
func.func @relu(%a: memref<256xf32>, %b: memref<256xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} ins(%a : memref<256xf32>) outs(%b : memref<256xf32>) {
  ^bb0(%in: f32, %out: f32):
    %z = arith.constant 0.0 : f32
    %r = arith.maximumf %in, %z : f32
    linalg.yield %r : f32
  }
  return
}

// A row reduction: a whole vector of partial sums is carried through the
// loop (one vector add per step) and reduced once, after it.
// AVX512-LABEL: func.func @row_sum(
// AVX512: scf.for %[[I:.*]] = %c0 to %c8 step %c1 {
// AVX512:   %[[ACC:.*]] = scf.for %{{.*}} = %c0 to %c128 step %c64 iter_args(%{{.*}} = %{{.*}}) -> (vector<1x64xf32>) {
// AVX512:     arith.addf %{{.*}} : vector<1x64xf32>
// AVX512:   vector.multi_reduction <add>, %[[ACC]], %{{.*}} [1] : vector<1x64xf32> to vector<1xf32>
func.func @row_sum(%a: memref<8x128xf32>, %b: memref<8x1xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, 0)>], iterator_types = ["parallel", "reduction"]} ins(%a : memref<8x128xf32>) outs(%b : memref<8x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %s = arith.addf %in, %out : f32
    linalg.yield %s : f32
  }
  return
}

// A keepdim sum over leading unit dimensions (a softmax denominator in a
// block of fused attention): its (d0, d1, d2, 0) output is written through a
// rank-reduced view, so the accumulator is carried as a whole vector, not
// summed horizontally per tile (a chain of scalar adds).
// AVX512-LABEL: func.func @row_sum_keepdim_4d(
// AVX512: memref.subview %{{.*}}[0, 0, 0, 0] [1, 1, 32, 1] [1, 1, 1, 1] : memref<1x1x32x1xf32> to memref<1x1x32xf32, strided<[32, 32, 1]>>
// AVX512:   %[[ACC:.*]] = scf.for %{{.*}} = %c0 to %c256 step %c64 iter_args(%{{.*}} = %{{.*}}) -> (vector<1x1x1x64xf32>) {
// AVX512:     arith.addf %{{.*}} : vector<1x1x1x64xf32>
// AVX512:   vector.multi_reduction <add>, %[[ACC]], %{{.*}} [3] : vector<1x1x1x64xf32> to vector<1x1x1xf32>
func.func @row_sum_keepdim_4d(%a: memref<1x1x32x256xf32>, %b: memref<1x1x32x1xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, 0)>], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%a : memref<1x1x32x256xf32>) outs(%b : memref<1x1x32x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %s = arith.addf %in, %out : f32
    linalg.yield %s : f32
  }
  return
}

// A NaN-propagating max reduction (softmax's row max): elementwise maximumf
// in the loop, one horizontal reduction after it.
// AVX512-LABEL: func.func @row_max(
// AVX512:   %[[ACC:.*]] = scf.for %{{.*}} iter_args(%{{.*}} = %{{.*}}) -> (vector<1x64xf32>) {
// AVX512:     arith.maximumf %{{.*}} : vector<1x64xf32>
// AVX512:   vector.multi_reduction <maximumf>, %[[ACC]], %{{.*}} [1] : vector<1x64xf32> to vector<1xf32>
func.func @row_max(%a: memref<8x128xf32>, %b: memref<8x1xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, 0)>], iterator_types = ["parallel", "reduction"]} ins(%a : memref<8x128xf32>) outs(%b : memref<8x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.maximumf %in, %out : f32
    linalg.yield %m : f32
  }
  return
}

// Dynamic shapes, integer matmuls and i1 buffers (a byte per element in
// memory, a bit per lane in a vector) stay for convert-linalg-to-loops.
// AVX512-LABEL: func.func @compare(
// AVX512: linalg.generic
func.func @compare(%a: memref<64xf32>, %b: memref<64xf32>, %c: memref<64xi1>) {
  linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} ins(%a, %b : memref<64xf32>, memref<64xf32>) outs(%c : memref<64xi1>) {
  ^bb0(%x: f32, %y: f32, %out: i1):
    %e = arith.cmpf oeq, %x, %y : f32
    linalg.yield %e : i1
  }
  return
}

// Fully dynamic: cache tiles of every size, M and N peeled, K whole.
// AVX512-LABEL: func.func @dynamic(
// AVX512: vector<8x32xf32>
// AVX512-NOT: linalg.matmul
// Integer matmuls are not this pass's (fxc-lower-int8-matmul or loops).
// AVX512-LABEL: func.func @int_matmul(
// AVX512: linalg.matmul
func.func @dynamic(%a: memref<?x?xf32>, %b: memref<?x?xf32>, %c: memref<?x?xf32>) {
  linalg.matmul ins(%a, %b : memref<?x?xf32>, memref<?x?xf32>) outs(%c : memref<?x?xf32>)
  return
}
func.func @int_matmul(%a: memref<16x16xi32>, %b: memref<16x16xi32>, %c: memref<16x16xi32>) {
  linalg.matmul ins(%a, %b : memref<16x16xi32>, memref<16x16xi32>) outs(%c : memref<16x16xi32>)
  return
}

// Dynamic sizes (issue 11): a dynamic M is tiled like a static one, then its
// register-tile loop is peeled: the main loop takes 8 x 32 tiles, the
// remainder one row at a time, both vectorized.
// AVX512-LABEL: func.func @matmul_dynamic_m(
// AVX512: scf.forall
// AVX512:   scf.for %{{.*}} = %c0 to %{{.*}} step %c8 {
// AVX512:     iter_args(%{{.*}} = %{{.*}}) -> (vector<8x32xf32>) {
// AVX512-COUNT-8: vector.fma %{{.*}} : vector<32xf32>
// AVX512:   scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c8 {
// AVX512:     iter_args(%{{.*}} = %{{.*}}) -> (vector<1x32xf32>) {
// AVX512:       vector.fma %{{.*}} : vector<32xf32>
// AVX512-NOT: linalg.matmul
func.func @matmul_dynamic_m(%a: memref<?x256xf32>, %b: memref<256x512xf32>, %c: memref<?x512xf32>) {
  linalg.matmul ins(%a, %b : memref<?x256xf32>, memref<256x512xf32>) outs(%c : memref<?x512xf32>)
  return
}

// Dynamic M and N (attention scores at a dynamic sequence length): both
// peeled; four variants, all vectorized.
// AVX512-LABEL: func.func @matmul_dynamic_mn(
// AVX512-COUNT-8: vector.fma %{{.*}} : vector<32xf32>
// AVX512-COUNT-8: vector.fma %{{.*}} : vector<1xf32>
// AVX512: vector.fma %{{.*}} : vector<32xf32>
// AVX512: vector.fma %{{.*}} : vector<1xf32>
// AVX512-NOT: linalg.matmul
func.func @matmul_dynamic_mn(%a: memref<?x64xf32>, %b: memref<64x?xf32>, %c: memref<?x?xf32>) {
  linalg.matmul ins(%a, %b : memref<?x64xf32>, memref<64x?xf32>) outs(%c : memref<?x?xf32>)
  return
}

// A dynamic innermost extent: one-vector tiles in a peeled loop (the row's
// partial sum carried through it), the remainder left for the scalar loops.
// AVX512-LABEL: func.func @row_sum_dynamic(
// AVX512: scf.for %{{.*}} = %c0 to %c8 step %c1 {
// AVX512:   scf.for %{{.*}} = %c0 to %{{.*}} step %c16 iter_args(%{{.*}} = %{{.*}}) -> (vector<1x16xf32>) {
// AVX512:   vector.multi_reduction <add>, %{{.*}} [1] : vector<1x16xf32> to vector<1xf32>
// AVX512:   scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c16 {
// AVX512:     linalg.generic
func.func @row_sum_dynamic(%a: memref<8x?xf32>, %b: memref<8x1xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, 0)>], iterator_types = ["parallel", "reduction"]} ins(%a : memref<8x?xf32>) outs(%b : memref<8x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %s = arith.addf %in, %out : f32
    linalg.yield %s : f32
  }
  return
}

// A dynamic outer extent: rows of size 1 are static tiles.
// AVX512-LABEL: func.func @bias_tanh_dynamic_rows(
// AVX512: scf.for %{{.*}} = %c0 to %{{.*}} step %c1 {
// AVX512:   scf.for %{{.*}} = %c0 to %c512 step %c64 {
// AVX512:     math.tanh %{{.*}} : vector<1x64xf32>
func.func @bias_tanh_dynamic_rows(%a: memref<?x512xf32>, %b: memref<512xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%a, %b : memref<?x512xf32>, memref<512xf32>) outs(%a : memref<?x512xf32>) {
  ^bb0(%in: f32, %in2: f32, %out: f32):
    %s = arith.addf %in, %in2 : f32
    %t = math.tanh %s : f32
    linalg.yield %t : f32
  }
  return
}

// A transpose of the two innermost dimensions (a weight transposed for a
// linear) moves 16 x 16 tiles through AVX-512 shuffles (8 x 8 on AVX2).
// AVX512-LABEL: func.func @transpose_2d(
// AVX512: scf.for %{{.*}} step %c16 {
// AVX512:   scf.for %{{.*}} step %c16 {
// AVX512-COUNT-16: vector.load %{{.*}} vector<16xf32>
// AVX512: vector.shuffle
// AVX512-COUNT-16: vector.store %{{.*}} vector<16xf32>
// AVX512-NOT: linalg.transpose
// AVX2-LABEL: func.func @transpose_2d(
// AVX2: step %c8 {
// AVX2-COUNT-8: vector.load %{{.*}} vector<8xf32>
// AVX2: vector.shuffle
func.func @transpose_2d(%a: memref<64x32xf32>, %b: memref<32x64xf32>) {
  linalg.transpose ins(%a : memref<64x32xf32>) outs(%b : memref<32x64xf32>) permutation = [1, 0]
  return
}

// A transpose that keeps the innermost dimension (attention heads) copies
// rows as vectors.
// AVX512-LABEL: func.func @transpose_heads(
// AVX512: vector.load %{{.*}} vector<16xf32>
// AVX512: vector.store %{{.*}} vector<16xf32>
// AVX512-NOT: linalg.transpose
func.func @transpose_heads(%a: memref<1x64x4x16xf32>, %b: memref<1x4x64x16xf32>) {
  linalg.transpose ins(%a : memref<1x64x4x16xf32>) outs(%b : memref<1x4x64x16xf32>) permutation = [0, 2, 1, 3]
  return
}

// bfloat16 inputs into a float32 accumulator (a bf16 matmul, widened by
// torch-mlir): the inputs are widened as they are read, the tile is the
// f32 one.
// AVX512-LABEL: func.func @matmul_bf16(
// AVX512: arith.extf %{{.*}} : vector<{{.*}}xbf16> to vector<{{.*}}xf32>
// AVX512-COUNT-8: vector.fma %{{.*}} : vector<32xf32>
// AVX512-NOT: linalg.matmul
func.func @matmul_bf16(%a: memref<64x256xbf16>, %b: memref<256x512xbf16>, %c: memref<64x512xf32>) {
  linalg.matmul ins(%a, %b : memref<64x256xbf16>, memref<256x512xbf16>) outs(%c : memref<64x512xf32>)
  return
}

// Generics of at least 2^16 iterations run on threads when parallel: an
// scf.forall over the outermost parallel dimension (one row per index,
// OpenMP's static schedule gives each thread a block of rows), or over
// vector-aligned chunks of a 1-d op.  Smaller ones, and all without
// parallel, stay on one thread.
// AVX512-LABEL: func.func @row_sums_on_threads(
// AVX512: scf.forall (%{{.*}}) in (1024) {
// AVX512:   scf.for %{{.*}} = %c0 to %c256 step %c64 iter_args(%{{.*}} = %{{.*}}) -> (vector<1x64xf32>) {
// AVX2-LABEL: func.func @row_sums_on_threads(
// AVX2-NOT: scf.forall
func.func @row_sums_on_threads(%a: memref<1024x256xf32>, %b: memref<1024xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"]} ins(%a : memref<1024x256xf32>) outs(%b : memref<1024xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %s = arith.addf %x, %acc : f32
    linalg.yield %s : f32
  }
  return
}

// AVX512-LABEL: func.func @flat_on_threads(
// AVX512: scf.forall (%{{.*}}) in (8) {
// AVX512:   scf.for %{{.*}} = %c0 to %c8192 step %c64 {
// AVX512-LABEL: func.func @small_on_one_thread(
// AVX512-NOT: scf.forall
// AVX512: return
func.func @flat_on_threads(%a: memref<65536xf32>, %b: memref<65536xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} ins(%a : memref<65536xf32>) outs(%b : memref<65536xf32>) {
  ^bb0(%x: f32, %y: f32):
    %e = math.exp %x : f32
    linalg.yield %e : f32
  }
  return
}

func.func @small_on_one_thread(%a: memref<128x256xf32>, %b: memref<128x256xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%a : memref<128x256xf32>) outs(%b : memref<128x256xf32>) {
  ^bb0(%x: f32, %y: f32):
    %e = math.exp %x : f32
    linalg.yield %e : f32
  }
  return
}

// A static N that whole vectors do not divide (a 56-wide convolution row)
// is split: 48 columns in 16-wide register tiles, the last 8 in 8-wide
// ones (8-wide tiles for all 56 before, half an AVX-512 vector).
// AVX512-LABEL: func.func @matmul_n56(
// AVX512: vector<8x16xf32>
// AVX512: vector<8x8xf32>
// AVX512-NOT: vector<8x2xf32>
// AVX512: return
func.func @matmul_n56(%a: memref<64x64xf32>, %b: memref<64x56xf32>, %c: memref<64x56xf32>) {
  linalg.matmul ins(%a, %b : memref<64x64xf32>, memref<64x56xf32>) outs(%c : memref<64x56xf32>)
  return
}

// A sum of squares (the variance's sum((x - m)^2)), which
// reduction_to_contract turns into a vector.contract, also carries a whole
// vector through the loop and reduces it once after.
// AVX512-LABEL: func.func @sum_of_squares(
// AVX512: scf.for %{{.*}} iter_args(%{{.*}} = %{{.*}}) -> (vector<1x64xf32>) {
// AVX512-NOT: vector.contract
// AVX512: arith.mulf %{{.*}} : vector<1x64xf32>
// AVX512: arith.addf %{{.*}} : vector<1x64xf32>
// AVX512: vector.multi_reduction <add>
func.func @sum_of_squares(%a: memref<8x128xf32>, %m: memref<8x1xf32>, %b: memref<8x1xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, 0)>, affine_map<(d0, d1) -> (d0, 0)>], iterator_types = ["parallel", "reduction"]} ins(%a, %m : memref<8x128xf32>, memref<8x1xf32>) outs(%b : memref<8x1xf32>) {
  ^bb0(%x: f32, %mean: f32, %acc: f32):
    %d = arith.subf %x, %mean : f32
    %sq = arith.mulf %d, %d : f32
    %s = arith.addf %sq, %acc : f32
    linalg.yield %s : f32
  }
  return
}

// An NCHW activation (56-wide rows: 8-lane vectors) with a per-channel
// operand: the two innermost loops run as one 3136-long loop over
// collapsed views (64-wide vectors), the per-channel operand read as it was.
// AVX512-LABEL: func.func @channel_scale_56(
// AVX512: memref.collapse_shape %{{.*}} {{\[\[}}0], [1], [2, 3]] : memref<1x64x56x56xf32> into memref<1x64x3136xf32>
// AVX512: scf.forall (%{{.*}}) in (64) {
// AVX512:   scf.for %{{.*}} = %c0 to %c3136 step %c64 {
// AVX512:     arith.mulf %{{.*}} : vector<1x1x64xf32>
// A row-wise operand (one value per (c, h)) reads one loop of the two: the
// loops stay apart.
// AVX512-LABEL: func.func @row_scale_56(
// AVX512-NOT: memref.collapse_shape
// AVX512: return
func.func @channel_scale_56(%x: memref<1x64x56x56xf32>, %s: memref<64x1x1xf32>, %y: memref<1x64x56x56xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d1, 0, 0)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%x, %s : memref<1x64x56x56xf32>, memref<64x1x1xf32>) outs(%y : memref<1x64x56x56xf32>) {
  ^bb0(%in: f32, %sc: f32, %out: f32):
    %m = arith.mulf %in, %sc : f32
    linalg.yield %m : f32
  }
  return
}
func.func @row_scale_56(%x: memref<64x56x56xf32>, %s: memref<64x56xf32>, %y: memref<64x56x56xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x, %s : memref<64x56x56xf32>, memref<64x56xf32>) outs(%y : memref<64x56x56xf32>) {
  ^bb0(%in: f32, %sc: f32, %out: f32):
    %m = arith.mulf %in, %sc : f32
    linalg.yield %m : f32
  }
  return
}
