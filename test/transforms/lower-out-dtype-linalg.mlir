// RUN: fxc-opt %s --stage fxc --stage linalg | FileCheck %s

// What out_dtype's integer contractions become in linalg: the mixed-precision
// op (i8 inputs, i32 outs, extension inside the op), never an int32 copy of an
// int8 input and never an i64 accumulator.

// int8 x int8 -> int32: one linalg.matmul with i8 inputs and an i32 accumulator;
// the extension is the op's (default cast_signed).  No extension or int32
// copy of an input before it, no i64 anywhere.
// CHECK-LABEL: func.func @mm_i8(
// CHECK-SAME: %[[A:[a-z0-9]+]]: tensor<5x7xi8>, %[[B:[a-z0-9]+]]: tensor<7x3xi8>) -> tensor<5x3xi32>
// CHECK-NOT: arith.ext
// CHECK-NOT: {{tensor<5x7xi32>|tensor<7x3xi32>}}
// CHECK-NOT: {{tensor<[0-9x]*xi64>}}
// CHECK: %[[INIT:.*]] = linalg.fill ins(%{{.*}} : i32) outs(%{{.*}} : tensor<5x3xi32>)
// CHECK: %[[R:.*]] = linalg.matmul ins(%[[A]], %[[B]] : tensor<5x7xi8>, tensor<7x3xi8>) outs(%[[INIT]] : tensor<5x3xi32>) -> tensor<5x3xi32>
// CHECK-NOT: {{tensor<[0-9x]*xi64>}}
// CHECK: return %[[R]]
func.func @mm_i8(%a: !torch.vtensor<[5,7],si8>, %b: !torch.vtensor<[7,3],si8>) -> !torch.vtensor<[5,3],si32> {
  %0 = "fxc.out_dtype"(%a, %b) {op = "aten.mm.default", operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, out_dtype = si32} : (!torch.vtensor<[5,7],si8>, !torch.vtensor<[7,3],si8>) -> !torch.vtensor<[5,3],si32>
  return %0 : !torch.vtensor<[5,3],si32>
}

// uint8 x uint8: the same matmul, zero-extending (cast_unsigned).
// CHECK-LABEL: func.func @mm_u8(
// CHECK-NOT: arith.ext
// CHECK-NOT: {{tensor<5x7xi32>|tensor<7x3xi32>}}
// CHECK-NOT: {{tensor<[0-9x]*xi64>}}
// CHECK: linalg.matmul {cast = #linalg.type_fn<cast_unsigned>} ins(%{{.*}}, %{{.*}} : tensor<5x7xi8>, tensor<7x3xi8>) outs(%{{.*}} : tensor<5x3xi32>)
// CHECK-NOT: {{tensor<[0-9x]*xi64>}}
// CHECK: return
func.func @mm_u8(%a: !torch.vtensor<[5,7],ui8>, %b: !torch.vtensor<[7,3],ui8>) -> !torch.vtensor<[5,3],si32> {
  %0 = "fxc.out_dtype"(%a, %b) {op = "aten.mm.default", operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, out_dtype = si32} : (!torch.vtensor<[5,7],ui8>, !torch.vtensor<[7,3],ui8>) -> !torch.vtensor<[5,3],si32>
  return %0 : !torch.vtensor<[5,3],si32>
}

// uint8 x int8: one contraction whose body zero-extends the lhs and
// sign-extends the rhs into the i32 accumulator.
// CHECK-LABEL: func.func @mm_u8_i8(
// CHECK-NOT: arith.ext
// CHECK-NOT: {{tensor<5x7xi32>|tensor<7x3xi32>}}
// CHECK-NOT: {{tensor<[0-9x]*xi64>}}
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]} ins(%{{.*}}, %{{.*}} : tensor<5x7xi8>, tensor<7x3xi8>) outs(%{{.*}} : tensor<5x3xi32>)
// CHECK-NEXT: ^bb0(%[[L:.*]]: i8, %[[R:.*]]: i8, %[[ACC:.*]]: i32):
// CHECK-NEXT: %[[LE:.*]] = arith.extui %[[L]] : i8 to i32
// CHECK-NEXT: %[[RE:.*]] = arith.extsi %[[R]] : i8 to i32
// CHECK-NEXT: %[[P:.*]] = arith.muli %[[LE]], %[[RE]] : i32
// CHECK-NEXT: %[[S:.*]] = arith.addi %[[ACC]], %[[P]] : i32
// CHECK-NEXT: linalg.yield %[[S]] : i32
// CHECK-NOT: {{tensor<[0-9x]*xi64>}}
// CHECK: return
func.func @mm_u8_i8(%a: !torch.vtensor<[5,7],ui8>, %b: !torch.vtensor<[7,3],si8>) -> !torch.vtensor<[5,3],si32> {
  %0 = "fxc.out_dtype"(%a, %b) {op = "aten.mm.default", operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, out_dtype = si32} : (!torch.vtensor<[5,7],ui8>, !torch.vtensor<[7,3],si8>) -> !torch.vtensor<[5,3],si32>
  return %0 : !torch.vtensor<[5,3],si32>
}

// linear on a 3-D input: collapse (no copy), the weight transposed as i8, one
// i8 x i8 -> i32 matmul, expand, add the int32 bias.
// CHECK-LABEL: func.func @linear_i8_3d_bias(
// CHECK-SAME: %[[X:[a-z0-9]+]]: tensor<2x5x7xi8>, %[[W:[a-z0-9]+]]: tensor<3x7xi8>, %[[BIAS:[a-z0-9]+]]: tensor<3xi32>)
// CHECK-NOT: arith.ext
// CHECK-NOT: {{tensor<2x5x7xi32>|tensor<3x7xi32>|tensor<7x3xi32>|tensor<10x7xi32>}}
// CHECK-NOT: {{tensor<[0-9x]*xi64>}}
// CHECK: %[[X2:.*]] = tensor.collapse_shape %[[X]] {{\[\[}}0, 1], [2]] : tensor<2x5x7xi8> into tensor<10x7xi8>
// CHECK: %[[WT:.*]] = linalg.transpose ins(%[[W]] : tensor<3x7xi8>) outs(%{{.*}} : tensor<7x3xi8>) permutation = [1, 0]
// CHECK: %[[MM:.*]] = linalg.matmul ins(%[[X2]], %[[WT]] : tensor<10x7xi8>, tensor<7x3xi8>) outs(%{{.*}} : tensor<10x3xi32>)
// CHECK: %[[Y:.*]] = tensor.expand_shape %[[MM]]
// CHECK: linalg.generic {{.*}} ins(%[[Y]], %[[BIAS]] : tensor<2x5x3xi32>, tensor<3xi32>)
// CHECK: arith.addi %{{.*}}, %{{.*}} : i32
// CHECK-NOT: {{tensor<[0-9x]*xi64>}}
// CHECK: return
func.func @linear_i8_3d_bias(%x: !torch.vtensor<[2,5,7],si8>, %w: !torch.vtensor<[3,7],si8>, %bias: !torch.vtensor<[3],si32>) -> !torch.vtensor<[2,5,3],si32> {
  %0 = "fxc.out_dtype"(%x, %w, %bias) {op = "aten.linear.default", operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0>, out_dtype = si32} : (!torch.vtensor<[2,5,7],si8>, !torch.vtensor<[3,7],si8>, !torch.vtensor<[3],si32>) -> !torch.vtensor<[2,5,3],si32>
  return %0 : !torch.vtensor<[2,5,3],si32>
}

// An int64 bias: still an i32 accumulator; only the bias is truncated.
// CHECK-LABEL: func.func @linear_i8_bias_i64(
// CHECK-NOT: arith.ext
// CHECK-NOT: {{tensor<5x7xi32>|tensor<3x7xi32>|tensor<7x3xi32>|tensor<5x3xi64>}}
// CHECK: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<5x7xi8>, tensor<7x3xi8>) outs(%{{.*}} : tensor<5x3xi32>)
// CHECK: arith.trunci %{{.*}} : i64 to i32
// CHECK-NOT: tensor<5x3xi64>
// CHECK: return
func.func @linear_i8_bias_i64(%x: !torch.vtensor<[5,7],si8>, %w: !torch.vtensor<[3,7],si8>, %bias: !torch.vtensor<[3],si64>) -> !torch.vtensor<[5,3],si32> {
  %0 = "fxc.out_dtype"(%x, %w, %bias) {op = "aten.linear.default", operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0>, out_dtype = si32} : (!torch.vtensor<[5,7],si8>, !torch.vtensor<[3,7],si8>, !torch.vtensor<[3],si64>) -> !torch.vtensor<[5,3],si32>
  return %0 : !torch.vtensor<[5,3],si32>
}

// conv2d of int8: one named convolution with i8 inputs and an i32 accumulator.
// CHECK-LABEL: func.func @conv2d_i8(
// CHECK-SAME: %[[X:[a-z0-9]+]]: tensor<1x3x8x8xi8>, %[[W:[a-z0-9]+]]: tensor<4x3x3x3xi8>)
// CHECK-NOT: arith.ext
// CHECK-NOT: {{tensor<1x3x8x8xi32>|tensor<4x3x3x3xi32>}}
// CHECK-NOT: {{tensor<[0-9x]*xi64>}}
// CHECK: %[[R:.*]] = linalg.conv_2d_nchw_fchw {{.*}} ins(%[[X]], %[[W]] : tensor<1x3x8x8xi8>, tensor<4x3x3x3xi8>) outs(%{{.*}} : tensor<1x4x6x6xi32>)
// CHECK-NOT: {{tensor<[0-9x]*xi64>}}
// CHECK: return %[[R]]
func.func @conv2d_i8(%x: !torch.vtensor<[1,3,8,8],si8>, %w: !torch.vtensor<[4,3,3,3],si8>) -> !torch.vtensor<[1,4,6,6],si32> {
  %int0 = torch.constant.int 0
  %int1 = torch.constant.int 1
  %stride = torch.prim.ListConstruct %int1, %int1 : (!torch.int, !torch.int) -> !torch.list<int>
  %padding = torch.prim.ListConstruct %int0, %int0 : (!torch.int, !torch.int) -> !torch.list<int>
  %none = torch.constant.none
  %0 = "fxc.out_dtype"(%x, %w, %none, %stride, %padding, %stride, %int1) {op = "aten.conv2d.default", operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0>, out_dtype = si32} : (!torch.vtensor<[1,3,8,8],si8>, !torch.vtensor<[4,3,3,3],si8>, !torch.none, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int) -> !torch.vtensor<[1,4,6,6],si32>
  return %0 : !torch.vtensor<[1,4,6,6],si32>
}

// convolution with an int32 bias: the accumulator starts as the broadcast bias.
// CHECK-LABEL: func.func @convolution_i8_bias(
// CHECK-SAME: %[[X:[a-z0-9]+]]: tensor<1x3x8x8xi8>, %[[W:[a-z0-9]+]]: tensor<4x3x3x3xi8>, %[[BIAS:[a-z0-9]+]]: tensor<4xi32>)
// CHECK-NOT: arith.ext
// CHECK-NOT: {{tensor<1x3x8x8xi32>|tensor<4x3x3x3xi32>}}
// CHECK-NOT: {{tensor<[0-9x]*xi64>}}
// CHECK: %[[INIT:.*]] = linalg.broadcast ins(%[[BIAS]] : tensor<4xi32>) outs(%{{.*}} : tensor<1x4x6x6xi32>)
// CHECK: %[[R:.*]] = linalg.conv_2d_nchw_fchw {{.*}} ins(%[[X]], %[[W]] : tensor<1x3x8x8xi8>, tensor<4x3x3x3xi8>) outs(%[[INIT]] : tensor<1x4x6x6xi32>)
// CHECK-NOT: {{tensor<[0-9x]*xi64>}}
// CHECK: return %[[R]]
func.func @convolution_i8_bias(%x: !torch.vtensor<[1,3,8,8],si8>, %w: !torch.vtensor<[4,3,3,3],si8>, %bias: !torch.vtensor<[4],si32>) -> !torch.vtensor<[1,4,6,6],si32> {
  %int0 = torch.constant.int 0
  %int1 = torch.constant.int 1
  %stride = torch.prim.ListConstruct %int1, %int1 : (!torch.int, !torch.int) -> !torch.list<int>
  %padding = torch.prim.ListConstruct %int0, %int0 : (!torch.int, !torch.int) -> !torch.list<int>
  %false = torch.constant.bool false
  %0 = "fxc.out_dtype"(%x, %w, %bias, %stride, %padding, %stride, %false, %padding, %int1) {op = "aten.convolution.default", operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0>, out_dtype = si32} : (!torch.vtensor<[1,3,8,8],si8>, !torch.vtensor<[4,3,3,3],si8>, !torch.vtensor<[4],si32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.bool, !torch.list<int>, !torch.int) -> !torch.vtensor<[1,4,6,6],si32>
  return %0 : !torch.vtensor<[1,4,6,6],si32>
}

// uint8 conv takes the generic path (a named convolution would sign-extend):
// zero-extending int32 copies of the inputs, then torch-mlir's convolution of
// int32, which accumulates in i64 and truncates.  Correct, not efficient.
// CHECK-LABEL: func.func @conv2d_u8(
// CHECK: arith.extui %{{.*}} : i8 to i32
// CHECK: arith.extui %{{.*}} : i8 to i32
// CHECK: linalg.conv_2d_nchw_fchw {{.*}} ins(%{{.*}}, %{{.*}} : tensor<1x3x8x8xi32>, tensor<4x3x3x3xi32>) outs(%{{.*}} : tensor<1x4x6x6xi64>)
// CHECK: arith.trunci %{{.*}} : i64 to i32
func.func @conv2d_u8(%x: !torch.vtensor<[1,3,8,8],ui8>, %w: !torch.vtensor<[4,3,3,3],ui8>) -> !torch.vtensor<[1,4,6,6],si32> {
  %int0 = torch.constant.int 0
  %int1 = torch.constant.int 1
  %stride = torch.prim.ListConstruct %int1, %int1 : (!torch.int, !torch.int) -> !torch.list<int>
  %padding = torch.prim.ListConstruct %int0, %int0 : (!torch.int, !torch.int) -> !torch.list<int>
  %none = torch.constant.none
  %0 = "fxc.out_dtype"(%x, %w, %none, %stride, %padding, %stride, %int1) {op = "aten.conv2d.default", operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0>, out_dtype = si32} : (!torch.vtensor<[1,3,8,8],ui8>, !torch.vtensor<[4,3,3,3],ui8>, !torch.none, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int) -> !torch.vtensor<[1,4,6,6],si32>
  return %0 : !torch.vtensor<[1,4,6,6],si32>
}
