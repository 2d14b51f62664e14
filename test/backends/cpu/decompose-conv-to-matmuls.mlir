// RUN: fxc-opt %s --pass-pipeline='builtin.module(fxc-decompose-conv-to-matmuls)' | FileCheck %s
// RUN: fxc-opt %s --pass-pipeline='builtin.module(fxc-decompose-conv-to-matmuls,fxc-convert-linalg-to-vector{vector-bits=512 parallel=true})' | FileCheck %s --check-prefix=VEC

// A 3x3 convolution: a parallel loop over (image, output row), the taps
// inside it, and for each a [F, C] x [C, OW] matmul on views of the filter,
// the input row and the output row (no copies).
// CHECK-LABEL: func.func @conv3x3(
// CHECK:      scf.parallel (%[[N:.*]], %[[OH:.*]]) = (%c0, %c0) to (%c2, %c56) step (%c1, %c1) {
// CHECK:        %[[OUT:.*]] = memref.subview %{{.*}}[%[[N]], 0, %[[OH]], 0] [1, 64, 1, 56] [1, 1, 1, 1] : memref<2x64x56x56xf32> to memref<64x56xf32, strided<[3136, 1], offset: ?>>
// CHECK:        scf.for %[[KH:.*]] = %c0 to %c3
// CHECK:          scf.for %[[KW:.*]] = %c0 to %c3
// CHECK:            %[[W:.*]] = memref.subview %{{.*}}[0, 0, %[[KH]], %[[KW]]] [64, 32, 1, 1] [1, 1, 1, 1] : memref<64x32x3x3xf32> to memref<64x32xf32, strided<[288, 9], offset: ?>>
// CHECK:            %[[ROW:.*]] = memref.subview %{{.*}} [1, 32, 1, 56] [1, 1, 1, 1] : memref<2x32x58x58xf32> to memref<32x56xf32, strided<[3364, 1], offset: ?>>
// CHECK:            linalg.matmul {fxc.sequential} ins(%[[W]], %[[ROW]] : {{.*}}) outs(%[[OUT]] : {{.*}})
// CHECK-NOT:  linalg.conv_2d
// The matmuls vectorize like any other (sequentially: the row loop is the
// parallel one).
// VEC-LABEL: func.func @conv3x3(
// VEC: scf.parallel
// VEC-NOT: scf.forall
// VEC: vector.fma %{{.*}} : vector<8xf32>
// VEC-NOT: linalg.matmul
func.func @conv3x3(%i: memref<2x32x58x58xf32>, %w: memref<64x32x3x3xf32>, %o: memref<2x64x56x56xf32>) {
  linalg.conv_2d_nchw_fchw {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>} ins(%i, %w : memref<2x32x58x58xf32>, memref<64x32x3x3xf32>) outs(%o : memref<2x64x56x56xf32>)
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
