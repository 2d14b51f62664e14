// RUN: fxc-opt %s --fxc-lower-out-dtype | FileCheck %s

// fxc-lower-out-dtype, one case per wrapped op kind.  Eager computes
// out_dtype(op, T, *args) by promoting the arguments together with T
// (elementwise_dtypes), running op, and casting to T.  Integer contractions
// (mm, linear, conv) run on the uncast operands instead, typed into an integer
// accumulator; see lower-out-dtype-linalg.mlir for what torch-mlir makes of
// them.

// mm of int8 matrices into int32: the mm itself, typed into int32 (no casts).
// CHECK-LABEL: func.func @mm_i8(
// CHECK-SAME: %[[A:[a-z0-9]+]]: !torch.vtensor<[5,7],si8>, %[[B:[a-z0-9]+]]: !torch.vtensor<[7,3],si8>)
// CHECK-NOT: torch.aten.to.dtype
// CHECK: %[[R:.*]] = torch.aten.mm %[[A]], %[[B]] : !torch.vtensor<[5,7],si8>, !torch.vtensor<[7,3],si8> -> !torch.vtensor<[5,3],si32>
// CHECK-NEXT: return %[[R]]
func.func @mm_i8(%a: !torch.vtensor<[5,7],si8>, %b: !torch.vtensor<[7,3],si8>) -> !torch.vtensor<[5,3],si32> {
  %0 = "fxc.out_dtype"(%a, %b) {op = "aten.mm.default", operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, out_dtype = si32} : (!torch.vtensor<[5,7],si8>, !torch.vtensor<[7,3],si8>) -> !torch.vtensor<[5,3],si32>
  return %0 : !torch.vtensor<[5,3],si32>
}

// uint8 x int8 (VNNI's u8 x s8) stays mixed: torch-mlir extends each operand in the op.
// CHECK-LABEL: func.func @mm_u8_i8(
// CHECK-NOT: torch.aten.to.dtype
// CHECK: torch.aten.mm %{{.*}}, %{{.*}} : !torch.vtensor<[5,7],ui8>, !torch.vtensor<[7,3],si8> -> !torch.vtensor<[5,3],si32>
func.func @mm_u8_i8(%a: !torch.vtensor<[5,7],ui8>, %b: !torch.vtensor<[7,3],si8>) -> !torch.vtensor<[5,3],si32> {
  %0 = "fxc.out_dtype"(%a, %b) {op = "aten.mm.default", operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, out_dtype = si32} : (!torch.vtensor<[5,7],ui8>, !torch.vtensor<[7,3],si8>) -> !torch.vtensor<[5,3],si32>
  return %0 : !torch.vtensor<[5,3],si32>
}

// int8 into int64 accumulates in int64: eager's promotion is int64 and so is the result.
// CHECK-LABEL: func.func @mm_i8_to_i64(
// CHECK-NOT: torch.aten.to.dtype
// CHECK: torch.aten.mm %{{.*}}, %{{.*}} : !torch.vtensor<[5,7],si8>, !torch.vtensor<[7,3],si8> -> !torch.vtensor<[5,3],si64>
func.func @mm_i8_to_i64(%a: !torch.vtensor<[5,7],si8>, %b: !torch.vtensor<[7,3],si8>) -> !torch.vtensor<[5,3],si64> {
  %0 = "fxc.out_dtype"(%a, %b) {op = "aten.mm.default", operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, out_dtype = si64} : (!torch.vtensor<[5,7],si8>, !torch.vtensor<[7,3],si8>) -> !torch.vtensor<[5,3],si64>
  return %0 : !torch.vtensor<[5,3],si64>
}

// int8 into bool: eager computes in int8 (wrapping), then tests != 0.  The
// sum accumulates in int32 (torch-mlir cannot lower an 8-bit mm result) and
// is wrapped to int8 before the bool cast, as eager's is.
// CHECK-LABEL: func.func @mm_i8_to_bool(
// CHECK: %[[MM:.*]] = torch.aten.mm %{{.*}}, %{{.*}} : !torch.vtensor<[5,7],si8>, !torch.vtensor<[7,3],si8> -> !torch.vtensor<[5,3],si32>
// CHECK: %[[W:.*]] = torch.aten.to.dtype %[[MM]], {{.*}} -> !torch.vtensor<[5,3],si8>
// CHECK: %[[R:.*]] = torch.aten.to.dtype %[[W]], {{.*}} -> !torch.vtensor<[5,3],i1>
// CHECK-NEXT: return %[[R]]
func.func @mm_i8_to_bool(%a: !torch.vtensor<[5,7],si8>, %b: !torch.vtensor<[7,3],si8>) -> !torch.vtensor<[5,3],i1> {
  %0 = "fxc.out_dtype"(%a, %b) {op = "aten.mm.default", operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, out_dtype = i1} : (!torch.vtensor<[5,7],si8>, !torch.vtensor<[7,3],si8>) -> !torch.vtensor<[5,3],i1>
  return %0 : !torch.vtensor<[5,3],i1>
}

// A float result promotes to float: generic path (cast, mm in f32).
// CHECK-LABEL: func.func @mm_i8_to_f32(
// CHECK-SAME: %[[A:[a-z0-9]+]]: !torch.vtensor<[5,7],si8>, %[[B:[a-z0-9]+]]: !torch.vtensor<[7,3],si8>)
// CHECK-DAG: %[[AF:.*]] = torch.aten.to.dtype %[[A]], %{{.*}} -> !torch.vtensor<[5,7],f32>
// CHECK-DAG: %[[BF:.*]] = torch.aten.to.dtype %[[B]], %{{.*}} -> !torch.vtensor<[7,3],f32>
// CHECK: %[[R:.*]] = torch.aten.mm %[[AF]], %[[BF]] : !torch.vtensor<[5,7],f32>, !torch.vtensor<[7,3],f32> -> !torch.vtensor<[5,3],f32>
// CHECK-NEXT: return %[[R]]
func.func @mm_i8_to_f32(%a: !torch.vtensor<[5,7],si8>, %b: !torch.vtensor<[7,3],si8>) -> !torch.vtensor<[5,3],f32> {
  %0 = "fxc.out_dtype"(%a, %b) {op = "aten.mm.default", operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, out_dtype = f32} : (!torch.vtensor<[5,7],si8>, !torch.vtensor<[7,3],si8>) -> !torch.vtensor<[5,3],f32>
  return %0 : !torch.vtensor<[5,3],f32>
}

// Operands of different widths: generic path, both cast to the promoted int32.
// CHECK-LABEL: func.func @mm_i16_i8(
// CHECK-DAG: torch.aten.to.dtype %{{.*}} : !torch.vtensor<[5,7],si16>, {{.*}} -> !torch.vtensor<[5,7],si32>
// CHECK-DAG: torch.aten.to.dtype %{{.*}} : !torch.vtensor<[7,3],si8>, {{.*}} -> !torch.vtensor<[7,3],si32>
// CHECK: torch.aten.mm %{{.*}}, %{{.*}} : !torch.vtensor<[5,7],si32>, !torch.vtensor<[7,3],si32> -> !torch.vtensor<[5,3],si32>
func.func @mm_i16_i8(%a: !torch.vtensor<[5,7],si16>, %b: !torch.vtensor<[7,3],si8>) -> !torch.vtensor<[5,3],si32> {
  %0 = "fxc.out_dtype"(%a, %b) {op = "aten.mm.default", operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, out_dtype = si32} : (!torch.vtensor<[5,7],si16>, !torch.vtensor<[7,3],si8>) -> !torch.vtensor<[5,3],si32>
  return %0 : !torch.vtensor<[5,3],si32>
}

// float16 computes in float32 (elementwise_dtypes' computation dtype), then casts.
// CHECK-LABEL: func.func @mm_f16(
// CHECK: %[[MM:.*]] = torch.aten.mm %{{.*}}, %{{.*}} : !torch.vtensor<[5,7],f32>, !torch.vtensor<[7,3],f32> -> !torch.vtensor<[5,3],f32>
// CHECK: %[[R:.*]] = torch.aten.to.dtype %[[MM]], %{{.*}} -> !torch.vtensor<[5,3],f16>
// CHECK-NEXT: return %[[R]]
func.func @mm_f16(%a: !torch.vtensor<[5,7],f16>, %b: !torch.vtensor<[7,3],f16>) -> !torch.vtensor<[5,3],f16> {
  %0 = "fxc.out_dtype"(%a, %b) {op = "aten.mm.default", operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, out_dtype = f16} : (!torch.vtensor<[5,7],f16>, !torch.vtensor<[7,3],f16>) -> !torch.vtensor<[5,3],f16>
  return %0 : !torch.vtensor<[5,3],f16>
}

// linear: mm of x and the transposed 8-bit weight, typed into int32.
// CHECK-LABEL: func.func @linear_i8(
// CHECK-SAME: %[[A:[a-z0-9]+]]: !torch.vtensor<[5,7],si8>, %[[B:[a-z0-9]+]]: !torch.vtensor<[3,7],si8>)
// CHECK-NOT: torch.aten.to.dtype
// CHECK: %[[WT:.*]] = torch.aten.transpose.int %[[B]], %{{.*}}, %{{.*}} : !torch.vtensor<[3,7],si8>, !torch.int, !torch.int -> !torch.vtensor<[7,3],si8>
// CHECK: %[[R:.*]] = torch.aten.mm %[[A]], %[[WT]] : !torch.vtensor<[5,7],si8>, !torch.vtensor<[7,3],si8> -> !torch.vtensor<[5,3],si32>
// CHECK-NEXT: return %[[R]]
func.func @linear_i8(%x: !torch.vtensor<[5,7],si8>, %w: !torch.vtensor<[3,7],si8>) -> !torch.vtensor<[5,3],si32> {
  %none = torch.constant.none
  %0 = "fxc.out_dtype"(%x, %w, %none) {op = "aten.linear.default", operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0>, out_dtype = si32} : (!torch.vtensor<[5,7],si8>, !torch.vtensor<[3,7],si8>, !torch.none) -> !torch.vtensor<[5,3],si32>
  return %0 : !torch.vtensor<[5,3],si32>
}

// 3-D input: viewed as a matrix (no weight broadcast); the uint8 bias is cast
// (zero-extended) to int32 before the add.
// CHECK-LABEL: func.func @linear_i8_3d_bias_u8(
// CHECK-SAME: %[[X:[a-z0-9]+]]: !torch.vtensor<[2,5,7],si8>, %[[W:[a-z0-9]+]]: !torch.vtensor<[3,7],si8>, %[[BIAS:[a-z0-9]+]]: !torch.vtensor<[3],ui8>)
// CHECK: %[[X2:.*]] = torch.aten.view %[[X]], %{{.*}} -> !torch.vtensor<[10,7],si8>
// CHECK: %[[WT:.*]] = torch.aten.transpose.int %[[W]]
// CHECK: %[[MM:.*]] = torch.aten.mm %[[X2]], %[[WT]] : !torch.vtensor<[10,7],si8>, !torch.vtensor<[7,3],si8> -> !torch.vtensor<[10,3],si32>
// CHECK: %[[Y:.*]] = torch.aten.view %[[MM]], %{{.*}} -> !torch.vtensor<[2,5,3],si32>
// CHECK: %[[B32:.*]] = torch.aten.to.dtype %[[BIAS]], %{{.*}} : !torch.vtensor<[3],ui8>, {{.*}} -> !torch.vtensor<[3],si32>
// CHECK: %[[R:.*]] = torch.aten.add.Tensor %[[Y]], %[[B32]], %{{.*}} -> !torch.vtensor<[2,5,3],si32>
// CHECK-NEXT: return %[[R]]
func.func @linear_i8_3d_bias_u8(%x: !torch.vtensor<[2,5,7],si8>, %w: !torch.vtensor<[3,7],si8>, %bias: !torch.vtensor<[3],ui8>) -> !torch.vtensor<[2,5,3],si32> {
  %0 = "fxc.out_dtype"(%x, %w, %bias) {op = "aten.linear.default", operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0>, out_dtype = si32} : (!torch.vtensor<[2,5,7],si8>, !torch.vtensor<[3,7],si8>, !torch.vtensor<[3],ui8>) -> !torch.vtensor<[2,5,3],si32>
  return %0 : !torch.vtensor<[2,5,3],si32>
}

// An int64 bias promotes eager to int64, but only the low 32 bits reach the
// int32 result: the matmul accumulates in int32, the bias is truncated.
// CHECK-LABEL: func.func @linear_i8_bias_i64(
// CHECK: torch.aten.mm %{{.*}}, %{{.*}} : !torch.vtensor<[5,7],si8>, !torch.vtensor<[7,3],si8> -> !torch.vtensor<[5,3],si32>
// CHECK: torch.aten.to.dtype %{{.*}} : !torch.vtensor<[3],si64>, {{.*}} -> !torch.vtensor<[3],si32>
// CHECK: torch.aten.add.Tensor {{.*}} -> !torch.vtensor<[5,3],si32>
// CHECK-NOT: si64>
func.func @linear_i8_bias_i64(%x: !torch.vtensor<[5,7],si8>, %w: !torch.vtensor<[3,7],si8>, %bias: !torch.vtensor<[3],si64>) -> !torch.vtensor<[5,3],si32> {
  %0 = "fxc.out_dtype"(%x, %w, %bias) {op = "aten.linear.default", operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0>, out_dtype = si32} : (!torch.vtensor<[5,7],si8>, !torch.vtensor<[3,7],si8>, !torch.vtensor<[3],si64>) -> !torch.vtensor<[5,3],si32>
  return %0 : !torch.vtensor<[5,3],si32>
}

// A float bias promotes everything to float32: generic path.
// CHECK-LABEL: func.func @linear_i8_bias_f32(
// CHECK: %[[L:.*]] = torch.aten.linear %{{.*}}, %{{.*}}, %{{.*}} : !torch.vtensor<[5,7],f32>, !torch.vtensor<[3,7],f32>, !torch.vtensor<[3],f32> -> !torch.vtensor<[5,3],f32>
// CHECK: torch.aten.to.dtype %[[L]], {{.*}} -> !torch.vtensor<[5,3],si32>
func.func @linear_i8_bias_f32(%x: !torch.vtensor<[5,7],si8>, %w: !torch.vtensor<[3,7],si8>, %bias: !torch.vtensor<[3],f32>) -> !torch.vtensor<[5,3],si32> {
  %0 = "fxc.out_dtype"(%x, %w, %bias) {op = "aten.linear.default", operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0>, out_dtype = si32} : (!torch.vtensor<[5,7],si8>, !torch.vtensor<[3,7],si8>, !torch.vtensor<[3],f32>) -> !torch.vtensor<[5,3],si32>
  return %0 : !torch.vtensor<[5,3],si32>
}

// conv2d of int8: aten.convolution typed into int32 (transposed = false,
// output_padding = [0, 0]).
// CHECK-LABEL: func.func @conv2d_i8(
// CHECK-SAME: %[[A:[a-z0-9]+]]: !torch.vtensor<[1,3,8,8],si8>, %[[B:[a-z0-9]+]]: !torch.vtensor<[4,3,3,3],si8>)
// CHECK-NOT: torch.aten.to.dtype
// CHECK: %[[FALSE:.*]] = torch.constant.bool false
// CHECK: %[[R:.*]] = torch.aten.convolution %[[A]], %[[B]], %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[FALSE]], %{{.*}}, %{{.*}} : !torch.vtensor<[1,3,8,8],si8>, !torch.vtensor<[4,3,3,3],si8>, {{.*}} -> !torch.vtensor<[1,4,6,6],si32>
// CHECK-NEXT: return %[[R]]
func.func @conv2d_i8(%x: !torch.vtensor<[1,3,8,8],si8>, %w: !torch.vtensor<[4,3,3,3],si8>) -> !torch.vtensor<[1,4,6,6],si32> {
  %int0 = torch.constant.int 0
  %int1 = torch.constant.int 1
  %stride = torch.prim.ListConstruct %int1, %int1 : (!torch.int, !torch.int) -> !torch.list<int>
  %padding = torch.prim.ListConstruct %int0, %int0 : (!torch.int, !torch.int) -> !torch.list<int>
  %none = torch.constant.none
  %0 = "fxc.out_dtype"(%x, %w, %none, %stride, %padding, %stride, %int1) {op = "aten.conv2d.default", operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0>, out_dtype = si32} : (!torch.vtensor<[1,3,8,8],si8>, !torch.vtensor<[4,3,3,3],si8>, !torch.none, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int) -> !torch.vtensor<[1,4,6,6],si32>
  return %0 : !torch.vtensor<[1,4,6,6],si32>
}

// Unbatched conv2d: viewed to a batch of one around the int8 convolution
// (torch-mlir's conv2d decomposition crashes on a 3-D input).
// CHECK-LABEL: func.func @conv2d_unbatched(
// CHECK: %[[X4:.*]] = torch.aten.view %{{.*}}, %{{.*}} : !torch.vtensor<[3,8,8],si8>, !torch.list<int> -> !torch.vtensor<[1,3,8,8],si8>
// CHECK: %[[C:.*]] = torch.aten.convolution %[[X4]], {{.*}} : !torch.vtensor<[1,3,8,8],si8>, !torch.vtensor<[4,3,3,3],si8>, {{.*}} -> !torch.vtensor<[1,4,6,6],si32>
// CHECK: %[[R:.*]] = torch.aten.view %[[C]], %{{.*}} -> !torch.vtensor<[4,6,6],si32>
// CHECK-NEXT: return %[[R]]
func.func @conv2d_unbatched(%x: !torch.vtensor<[3,8,8],si8>, %w: !torch.vtensor<[4,3,3,3],si8>) -> !torch.vtensor<[4,6,6],si32> {
  %int0 = torch.constant.int 0
  %int1 = torch.constant.int 1
  %stride = torch.prim.ListConstruct %int1, %int1 : (!torch.int, !torch.int) -> !torch.list<int>
  %padding = torch.prim.ListConstruct %int0, %int0 : (!torch.int, !torch.int) -> !torch.list<int>
  %none = torch.constant.none
  %0 = "fxc.out_dtype"(%x, %w, %none, %stride, %padding, %stride, %int1) {op = "aten.conv2d.default", operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0>, out_dtype = si32} : (!torch.vtensor<[3,8,8],si8>, !torch.vtensor<[4,3,3,3],si8>, !torch.none, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int) -> !torch.vtensor<[4,6,6],si32>
  return %0 : !torch.vtensor<[4,6,6],si32>
}

// uint8 conv: generic path (linalg's named convolutions sign-extend).
// CHECK-LABEL: func.func @conv2d_u8(
// CHECK: torch.aten.to.dtype %{{.*}} : !torch.vtensor<[1,3,8,8],ui8>, {{.*}} -> !torch.vtensor<[1,3,8,8],si32>
// CHECK: torch.aten.to.dtype %{{.*}} : !torch.vtensor<[4,3,3,3],ui8>, {{.*}} -> !torch.vtensor<[4,3,3,3],si32>
// CHECK: torch.aten.conv2d {{.*}} : !torch.vtensor<[1,3,8,8],si32>, !torch.vtensor<[4,3,3,3],si32>, {{.*}} -> !torch.vtensor<[1,4,6,6],si32>
func.func @conv2d_u8(%x: !torch.vtensor<[1,3,8,8],ui8>, %w: !torch.vtensor<[4,3,3,3],ui8>) -> !torch.vtensor<[1,4,6,6],si32> {
  %int0 = torch.constant.int 0
  %int1 = torch.constant.int 1
  %stride = torch.prim.ListConstruct %int1, %int1 : (!torch.int, !torch.int) -> !torch.list<int>
  %padding = torch.prim.ListConstruct %int0, %int0 : (!torch.int, !torch.int) -> !torch.list<int>
  %none = torch.constant.none
  %0 = "fxc.out_dtype"(%x, %w, %none, %stride, %padding, %stride, %int1) {op = "aten.conv2d.default", operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0>, out_dtype = si32} : (!torch.vtensor<[1,3,8,8],ui8>, !torch.vtensor<[4,3,3,3],ui8>, !torch.none, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int) -> !torch.vtensor<[1,4,6,6],si32>
  return %0 : !torch.vtensor<[1,4,6,6],si32>
}

// convolution with an int8 bias: the bias is cast to int32, the inputs are not.
// CHECK-LABEL: func.func @convolution_i8_bias(
// CHECK-SAME: %[[X:[a-z0-9]+]]: !torch.vtensor<[1,3,8,8],si8>, %[[W:[a-z0-9]+]]: !torch.vtensor<[4,3,3,3],si8>, %[[BIAS:[a-z0-9]+]]: !torch.vtensor<[4],si8>)
// CHECK: %[[B32:.*]] = torch.aten.to.dtype %[[BIAS]], {{.*}} -> !torch.vtensor<[4],si32>
// CHECK: torch.aten.convolution %[[X]], %[[W]], %[[B32]], {{.*}} -> !torch.vtensor<[1,4,6,6],si32>
func.func @convolution_i8_bias(%x: !torch.vtensor<[1,3,8,8],si8>, %w: !torch.vtensor<[4,3,3,3],si8>, %bias: !torch.vtensor<[4],si8>) -> !torch.vtensor<[1,4,6,6],si32> {
  %int0 = torch.constant.int 0
  %int1 = torch.constant.int 1
  %stride = torch.prim.ListConstruct %int1, %int1 : (!torch.int, !torch.int) -> !torch.list<int>
  %padding = torch.prim.ListConstruct %int0, %int0 : (!torch.int, !torch.int) -> !torch.list<int>
  %false = torch.constant.bool false
  %0 = "fxc.out_dtype"(%x, %w, %bias, %stride, %padding, %stride, %false, %padding, %int1) {op = "aten.convolution.default", operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0>, out_dtype = si32} : (!torch.vtensor<[1,3,8,8],si8>, !torch.vtensor<[4,3,3,3],si8>, !torch.vtensor<[4],si8>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.bool, !torch.list<int>, !torch.int) -> !torch.vtensor<[1,4,6,6],si32>
  return %0 : !torch.vtensor<[1,4,6,6],si32>
}

// An int8 convolution into int64: torch-mlir would accumulate in i32 and
// truncate the int64 bias, so with a bias it takes the generic path.
// CHECK-LABEL: func.func @convolution_i8_to_i64_bias(
// CHECK-DAG: torch.aten.to.dtype %{{.*}} : !torch.vtensor<[1,3,8,8],si8>, {{.*}} -> !torch.vtensor<[1,3,8,8],si64>
// CHECK-DAG: torch.aten.to.dtype %{{.*}} : !torch.vtensor<[4,3,3,3],si8>, {{.*}} -> !torch.vtensor<[4,3,3,3],si64>
// CHECK: torch.aten.convolution {{.*}} : !torch.vtensor<[1,3,8,8],si64>, !torch.vtensor<[4,3,3,3],si64>, !torch.vtensor<[4],si64>, {{.*}} -> !torch.vtensor<[1,4,6,6],si64>
func.func @convolution_i8_to_i64_bias(%x: !torch.vtensor<[1,3,8,8],si8>, %w: !torch.vtensor<[4,3,3,3],si8>, %bias: !torch.vtensor<[4],si64>) -> !torch.vtensor<[1,4,6,6],si64> {
  %int0 = torch.constant.int 0
  %int1 = torch.constant.int 1
  %stride = torch.prim.ListConstruct %int1, %int1 : (!torch.int, !torch.int) -> !torch.list<int>
  %padding = torch.prim.ListConstruct %int0, %int0 : (!torch.int, !torch.int) -> !torch.list<int>
  %false = torch.constant.bool false
  %0 = "fxc.out_dtype"(%x, %w, %bias, %stride, %padding, %stride, %false, %padding, %int1) {op = "aten.convolution.default", operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0>, out_dtype = si64} : (!torch.vtensor<[1,3,8,8],si8>, !torch.vtensor<[4,3,3,3],si8>, !torch.vtensor<[4],si64>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.bool, !torch.list<int>, !torch.int) -> !torch.vtensor<[1,4,6,6],si64>
  return %0 : !torch.vtensor<[1,4,6,6],si64>
}

// mul.Tensor: both operands cast to the promoted int32 (uint8 zero-extends).
// CHECK-LABEL: func.func @mul_tensor(
// CHECK-SAME: %[[A:[a-z0-9]+]]: !torch.vtensor<[4,5],si8>, %[[B:[a-z0-9]+]]: !torch.vtensor<[4,5],ui8>)
// CHECK-DAG: %[[A32:.*]] = torch.aten.to.dtype %[[A]], {{.*}} -> !torch.vtensor<[4,5],si32>
// CHECK-DAG: %[[B32:.*]] = torch.aten.to.dtype %[[B]], {{.*}} -> !torch.vtensor<[4,5],si32>
// CHECK: %[[R:.*]] = torch.aten.mul.Tensor %[[A32]], %[[B32]] : !torch.vtensor<[4,5],si32>, !torch.vtensor<[4,5],si32> -> !torch.vtensor<[4,5],si32>
// CHECK-NEXT: return %[[R]]
func.func @mul_tensor(%a: !torch.vtensor<[4,5],si8>, %b: !torch.vtensor<[4,5],ui8>) -> !torch.vtensor<[4,5],si32> {
  %0 = "fxc.out_dtype"(%a, %b) {op = "aten.mul.Tensor", operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, out_dtype = si32} : (!torch.vtensor<[4,5],si8>, !torch.vtensor<[4,5],ui8>) -> !torch.vtensor<[4,5],si32>
  return %0 : !torch.vtensor<[4,5],si32>
}

// mul.Scalar with a float scalar: the scalar's category promotes to float32
// (seed test_out_dtype_mul_scalar_numerical), then the result is cast.
// CHECK-LABEL: func.func @mul_scalar(
// CHECK: %[[S:.*]] = torch.constant.float 3.0
// CHECK: %[[AF:.*]] = torch.aten.to.dtype %{{.*}} -> !torch.vtensor<[4,5],f32>
// CHECK: %[[M:.*]] = torch.aten.mul.Scalar %[[AF]], %[[S]] : !torch.vtensor<[4,5],f32>, !torch.float -> !torch.vtensor<[4,5],f32>
// CHECK: torch.aten.to.dtype %[[M]], {{.*}} -> !torch.vtensor<[4,5],si32>
func.func @mul_scalar(%a: !torch.vtensor<[4,5],si8>) -> !torch.vtensor<[4,5],si32> {
  %s = torch.constant.float 3.0
  %0 = "fxc.out_dtype"(%a, %s) {op = "aten.mul.Scalar", operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, out_dtype = si32} : (!torch.vtensor<[4,5],si8>, !torch.float) -> !torch.vtensor<[4,5],si32>
  return %0 : !torch.vtensor<[4,5],si32>
}

// div.Tensor is true division: eager converts the integer operands to
// float32 and divides.  fxc converts with aten.to.dtype (zero-extending the
// uint8 operand), not inside the division, which torch-mlir would lower with
// a signed conversion.
// CHECK-LABEL: func.func @div_tensor(
// CHECK-SAME: %[[A:[a-z0-9]+]]: !torch.vtensor<[4,5],ui8>, %[[B:[a-z0-9]+]]: !torch.vtensor<[4,5],si8>)
// CHECK-DAG: %[[AF:.*]] = torch.aten.to.dtype %[[A]], {{.*}} -> !torch.vtensor<[4,5],f32>
// CHECK-DAG: %[[BF:.*]] = torch.aten.to.dtype %[[B]], {{.*}} -> !torch.vtensor<[4,5],f32>
// CHECK: %[[D:.*]] = torch.aten.div.Tensor %[[AF]], %[[BF]] : !torch.vtensor<[4,5],f32>, !torch.vtensor<[4,5],f32> -> !torch.vtensor<[4,5],f32>
// CHECK: torch.aten.to.dtype %[[D]], {{.*}} -> !torch.vtensor<[4,5],si32>
func.func @div_tensor(%a: !torch.vtensor<[4,5],ui8>, %b: !torch.vtensor<[4,5],si8>) -> !torch.vtensor<[4,5],si32> {
  %0 = "fxc.out_dtype"(%a, %b) {op = "aten.div.Tensor", operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, out_dtype = si32} : (!torch.vtensor<[4,5],ui8>, !torch.vtensor<[4,5],si8>) -> !torch.vtensor<[4,5],si32>
  return %0 : !torch.vtensor<[4,5],si32>
}

// div.Scalar into int16: a float result reaches an 8/16-bit integer through
// int64, wrapping as eager does (torch-mlir would convert directly, undefined
// out of range).
// CHECK-LABEL: func.func @div_scalar(
// CHECK: %[[S:.*]] = torch.constant.int 3
// CHECK: %[[AF:.*]] = torch.aten.to.dtype %{{.*}} : !torch.vtensor<[4,5],si8>, {{.*}} -> !torch.vtensor<[4,5],f32>
// CHECK: %[[D:.*]] = torch.aten.div.Scalar %[[AF]], %[[S]] : !torch.vtensor<[4,5],f32>, !torch.int -> !torch.vtensor<[4,5],f32>
// CHECK: %[[W:.*]] = torch.aten.to.dtype %[[D]], {{.*}} -> !torch.vtensor<[4,5],si64>
// CHECK: %[[R:.*]] = torch.aten.to.dtype %[[W]], {{.*}} -> !torch.vtensor<[4,5],si16>
// CHECK-NEXT: return %[[R]]
func.func @div_scalar(%a: !torch.vtensor<[4,5],si8>) -> !torch.vtensor<[4,5],si16> {
  %s = torch.constant.int 3
  %0 = "fxc.out_dtype"(%a, %s) {op = "aten.div.Scalar", operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, out_dtype = si16} : (!torch.vtensor<[4,5],si8>, !torch.int) -> !torch.vtensor<[4,5],si16>
  return %0 : !torch.vtensor<[4,5],si16>
}
