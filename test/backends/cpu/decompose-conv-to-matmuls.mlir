// RUN: fxc-opt %s --pass-pipeline='builtin.module(fxc-decompose-conv-to-matmuls)' | FileCheck %s
// RUN: fxc-opt %s --pass-pipeline='builtin.module(fxc-decompose-conv-to-matmuls,fxc-convert-linalg-to-vector{vector-bits=512 parallel=true})' | FileCheck %s --check-prefix=VEC

// A stride-1 3x3 convolution: output position j = oh * W + ow reads input
// position j + kh * W + kw, so each tap is a [F, C] x [C, positions] matmul
// over whole input rows (reinterpret_cast views, no im2col), into a
// [F, OH, W] buffer whose W - OW extra columns are computed and dropped.
// The (OH-1)*W + OW = 3246 positions are 25 blocks of 128 and one of 46,
// one parallel loop over the blocks with every tap inside a block (its
// accumulator stays in cache; the matmuls are sequential inside).  A
// block's taps read a window of the input copied first: [C, 128 + 118]
// (the 2 * 58 + 2 positions of the taps' shifts), rows 272 apart (17
// cache lines, odd: they spread over L1's sets).  The
// filter is first copied tap-major, [KH, KW, F, C]: each tap's [F, C]
// matrix contiguous.
// CHECK-LABEL: func.func @conv3x3(
// CHECK:      %[[TAPS:.*]] = memref.alloc() {alignment = 64 : i64} : memref<3x3x64x32xf32>
// CHECK:      linalg.generic {{.*}} ins(%{{.*}} : memref<64x32x3x3xf32>) outs(%[[TAPS]] : memref<3x3x64x32xf32>)
// CHECK:      %[[ACC:.*]] = memref.alloc() : memref<64x56x58xf32>
// CHECK:      scf.for %[[N:.*]] = %c0 to %c2 step %c1 {
// CHECK:        %[[OUT:.*]] = memref.subview %{{.*}}[%[[N]], 0, 0, 0] [1, 64, 56, 56]
// CHECK:        %[[VALID:.*]] = memref.subview %[[ACC]][0, 0, 0] [64, 56, 56] [1, 1, 1] : memref<64x56x58xf32> to memref<64x56x56xf32, strided<[3248, 58, 1]>>
// CHECK:        %[[PAST:.*]] = memref.subview %[[ACC]][0, 0, 56] [64, 56, 2]
// CHECK:        linalg.fill ins(%{{.*}} : f32) outs(%[[PAST]]
// CHECK:        linalg.generic {{.*}} ins(%[[OUT]] {{.*}} outs(%[[VALID]]
// CHECK:        scf.parallel (%[[B:.*]]) = (%c0) to (%c26) step (%c1) {
// CHECK:          %[[START:.*]] = arith.muli %[[B]], %c128
// CHECK:          scf.if
// CHECK:            %[[FLAT:.*]] = memref.reinterpret_cast %[[ACC]] to offset: [%[[START]]], sizes: [64, 128], strides: [3248, 1]
// CHECK:            %[[WINDOW:.*]] = memref.alloc() {alignment = 64 : i64} : memref<32x272xf32>
// CHECK:            %[[SOURCE:.*]] = memref.reinterpret_cast %{{.*}} to offset: [%{{.*}}], sizes: [32, 246], strides: [3364, 1] : memref<2x32x58x58xf32>
// CHECK:            %[[DEST:.*]] = memref.reinterpret_cast %[[WINDOW]] to offset: [0], sizes: [32, 246], strides: [272, 1]
// CHECK:            linalg.generic {{.*}} ins(%[[SOURCE]] {{.*}} outs(%[[DEST]] {{.*}} attrs =  {fxc.sequential}
// CHECK:            scf.for %[[KH:.*]] = %{{.*}} to %c3
// CHECK:              scf.for %[[KW:.*]] = %{{.*}} to %c3
// CHECK:                %[[W:.*]] = memref.subview %[[TAPS]][%[[KH]], %[[KW]], 0, 0] [1, 1, 64, 32] [1, 1, 1, 1] : memref<3x3x64x32xf32> to memref<64x32xf32, strided<[32, 1], offset: ?>>
// CHECK:                %[[POS:.*]] = memref.reinterpret_cast %[[WINDOW]] to offset: [%{{.*}}], sizes: [32, 128], strides: [272, 1] : memref<32x272xf32> to memref<32x128xf32, strided<[272, 1], offset: ?>>
// CHECK:                linalg.matmul {fxc.sequential} ins(%[[W]], %[[POS]] : {{.*}}) outs(%[[FLAT]] : {{.*}})
// CHECK:            memref.dealloc %[[WINDOW]]
// CHECK:          } else {
// CHECK:            memref.reinterpret_cast %[[ACC]] to offset: [%[[START]]], sizes: [64, 46], strides: [3248, 1]
// CHECK:                linalg.matmul {fxc.sequential}
// CHECK:        linalg.generic {{.*}} ins(%[[VALID]] {{.*}} outs(%[[OUT]]
// CHECK:      memref.dealloc %[[ACC]]
// CHECK:      memref.dealloc %[[TAPS]]
// CHECK-NOT:  linalg.conv_2d
// The matmuls vectorize like any other: 8 x 32 register tiles for the
// blocks of 128, the narrower block split into whole vectors and the rest.
// VEC-LABEL: func.func @conv3x3(
// VEC: scf.parallel
// VEC-NOT: scf.forall
// VEC: vector.fma %{{.*}} : vector<32xf32>
// VEC-NOT: linalg.matmul
// VEC: return
func.func @conv3x3(%i: memref<2x32x58x58xf32>, %w: memref<64x32x3x3xf32>, %o: memref<2x64x56x56xf32>) {
  linalg.conv_2d_nchw_fchw {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>} ins(%i, %w : memref<2x32x58x58xf32>, memref<64x32x3x3xf32>) outs(%o : memref<2x64x56x56xf32>)
  return
}

// A 1x1 convolution is one matmul per image (and block), straight into the
// output; its filter is [F, C] already (a view, no copy).
// CHECK-LABEL: func.func @conv1x1(
// CHECK-NOT:  memref.alloc
// CHECK:      %[[OUT:.*]] = memref.reinterpret_cast %{{.*}} to offset: [%{{.*}}], sizes: [16, 49], strides: [49, 1] : memref<2x16x7x7xf32>
// CHECK:      %[[POS:.*]] = memref.reinterpret_cast %{{.*}} to offset: [%{{.*}}], sizes: [8, 49], strides: [49, 1] : memref<2x8x7x7xf32>
// CHECK:      linalg.matmul ins(%{{.*}}, %[[POS]] : {{.*}}) outs(%[[OUT]] : {{.*}})
func.func @conv1x1(%i: memref<2x8x7x7xf32>, %w: memref<16x8x1x1xf32>, %o: memref<2x16x7x7xf32>) {
  linalg.conv_2d_nchw_fchw {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>} ins(%i, %w : memref<2x8x7x7xf32>, memref<16x8x1x1xf32>) outs(%o : memref<2x16x7x7xf32>)
  return
}

// A filter so wide that whole input rows would waste more than a quarter of
// the work (16 input columns for 10 output columns): a parallel loop over
// (image, output row), the taps inside it, and for each a [F, C] x [C, OW]
// matmul on views of the filter, the input row and the output row.
// CHECK-LABEL: func.func @wide_filter(
// CHECK:      scf.parallel (%[[N:.*]], %[[OH:.*]]) = (%c0, %c0) to (%{{.*}}, %c10) step (%c1, %c1) {
// CHECK:        %[[OUT:.*]] = memref.subview %{{.*}}[%[[N]], 0, %[[OH]], 0] [1, 8, 1, 10] [1, 1, 1, 1] : memref<1x8x10x10xf32> to memref<8x10xf32, strided<[100, 1], offset: ?>>
// CHECK:        scf.for %[[KH:.*]] = %{{.*}} to %c7
// CHECK:          scf.for %[[KW:.*]] = %{{.*}} to %c7
// CHECK:            %[[W:.*]] = memref.subview %{{.*}}[%[[KH]], %[[KW]], 0, 0] [1, 1, 8, 4]
// CHECK:            %[[ROW:.*]] = memref.subview %{{.*}} [1, 4, 1, 10] [1, 1, 1, 1] : memref<1x4x16x16xf32> to memref<4x10xf32, strided<[256, 1], offset: ?>>
// CHECK:            linalg.matmul {fxc.sequential} ins(%[[W]], %[[ROW]] : {{.*}}) outs(%[[OUT]] : {{.*}})
// VEC-LABEL: func.func @wide_filter(
// VEC: scf.parallel
// VEC-NOT: scf.forall
// VEC: return
func.func @wide_filter(%i: memref<1x4x16x16xf32>, %w: memref<8x4x7x7xf32>, %o: memref<1x8x10x10xf32>) {
  linalg.conv_2d_nchw_fchw {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>} ins(%i, %w : memref<1x4x16x16xf32>, memref<8x4x7x7xf32>) outs(%o : memref<1x8x10x10xf32>)
  return
}

// Strides and dilations: input row oh * 2 + kh * 2, columns from kw * 2 in
// steps of 2.
// CHECK-LABEL: func.func @strided(
// CHECK:   %[[A:.*]] = arith.muli %{{.*}}, %c2
// CHECK:   %[[B:.*]] = arith.muli %{{.*}}, %c2
// CHECK:   arith.addi %[[A]], %[[B]]
// CHECK:   memref.subview %{{.*}} [1, 3, 1, 7] [1, 1, 1, 2] : memref<1x3x16x16xf32> to memref<3x7xf32, strided<[256, 2], offset: ?>>
// CHECK:   linalg.matmul
func.func @strided(%i: memref<1x3x16x16xf32>, %w: memref<8x3x2x2xf32>, %o: memref<1x8x6x7xf32>) {
  linalg.conv_2d_nchw_fchw {dilations = dense<2> : vector<2xi64>, strides = dense<2> : vector<2xi64>} ins(%i, %w : memref<1x3x16x16xf32>, memref<8x3x2x2xf32>) outs(%o : memref<1x8x6x7xf32>)
  return
}

// Dynamic sizes and integer convolutions keep their loops.
// CHECK-LABEL: func.func @dynamic(
// CHECK: linalg.conv_2d_nchw_fchw
// CHECK-LABEL: func.func @integer(
// CHECK: linalg.conv_2d_nchw_fchw
func.func @dynamic(%i: memref<?x3x16x16xf32>, %w: memref<8x3x3x3xf32>, %o: memref<?x8x14x14xf32>) {
  linalg.conv_2d_nchw_fchw {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>} ins(%i, %w : memref<?x3x16x16xf32>, memref<8x3x3x3xf32>) outs(%o : memref<?x8x14x14xf32>)
  return
}
func.func @integer(%i: memref<1x3x16x16xi32>, %w: memref<8x3x3x3xi32>, %o: memref<1x8x14x14xi32>) {
  linalg.conv_2d_nchw_fchw {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>} ins(%i, %w : memref<1x3x16x16xi32>, memref<8x3x3x3xi32>) outs(%o : memref<1x8x14x14xi32>)
  return
}

// The output holds zeros (bufferization's copy of a zero-filled buffer, as
// torch-mlir's convolution without bias starts): the accumulator is filled
// with zeros instead of the output being copied into it, and the copy, whose
// values the convolution overwrites unread, is gone.
// CHECK-LABEL: func.func @zero_output(
// CHECK:      %[[ZEROS:.*]] = memref.alloc() : memref<1x16x8x8xf32>
// CHECK:      linalg.fill ins(%{{.*}} : f32) outs(%[[ZEROS]] : memref<1x16x8x8xf32>)
// CHECK-NOT:  memref.copy
// CHECK:      %[[ACC:.*]] = memref.alloc() : memref<16x8x10xf32>
// CHECK:      scf.for
// CHECK-NOT:    linalg.generic
// CHECK:        linalg.fill ins(%{{.*}} : f32) outs(%[[ACC]] : memref<16x8x10xf32>)
// CHECK-NOT:    linalg.generic
// CHECK:        scf.parallel
// CHECK:        linalg.generic {{.*}} outs(%{{.*}} : memref<16x8x8xf32, strided<[64, 8, 1], offset: ?>>)
func.func @zero_output(%i: memref<1x8x10x10xf32>, %w: memref<16x8x3x3xf32>, %o: memref<1x16x8x8xf32>) {
  %zero = arith.constant 0.0 : f32
  %zeros = memref.alloc() : memref<1x16x8x8xf32>
  linalg.fill ins(%zero : f32) outs(%zeros : memref<1x16x8x8xf32>)
  memref.copy %zeros, %o : memref<1x16x8x8xf32> to memref<1x16x8x8xf32>
  linalg.conv_2d_nchw_fchw {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>} ins(%i, %w : memref<1x8x10x10xf32>, memref<16x8x3x3xf32>) outs(%o : memref<1x16x8x8xf32>)
  memref.dealloc %zeros : memref<1x16x8x8xf32>
  return
}
