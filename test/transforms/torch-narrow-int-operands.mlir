// RUN: fxc-opt %s --fxc-torch-narrow-int-operands | FileCheck %s
// RUN: fxc-opt %s --fxc-torch-narrow-int-operands --stage linalg | FileCheck %s --check-prefix=LINALG

// Scalar operands of 8-bit integer ops become 0-d tensors of the op's dtype
// (torch-mlir's conversion to linalg crashes on the original form).

// CHECK-LABEL: func.func @scalars(
// CHECK: %[[C2:.*]] = torch.vtensor.literal(dense<2> : tensor<si8>) : !torch.vtensor<[],si8>
// CHECK: torch.aten.mul.Tensor %arg0, %[[C2]] : !torch.vtensor<[4],si8>, !torch.vtensor<[],si8> -> !torch.vtensor<[4],si8>
// 300 wraps to 44 in int8, as PyTorch's cast does.
// CHECK: %[[C44:.*]] = torch.vtensor.literal(dense<44> : tensor<si8>)
// CHECK: torch.aten.sub.Tensor %arg0, %[[C44]], %int2
// CHECK: %[[CU:.*]] = torch.vtensor.literal(dense<255> : tensor<ui8>)
// CHECK: torch.aten.remainder.Tensor %arg1, %[[CU]]
// LINALG: arith.muli %{{.*}}, %{{.*}} : i8
func.func @scalars(%x: !torch.vtensor<[4],si8>, %u: !torch.vtensor<[4],ui8>) -> (!torch.vtensor<[4],si8>, !torch.vtensor<[4],si8>, !torch.vtensor<[4],ui8>) {
  %int2 = torch.constant.int 2
  %int300 = torch.constant.int 300
  %intm1 = torch.constant.int -1
  %0 = torch.aten.mul.Scalar %x, %int2 : !torch.vtensor<[4],si8>, !torch.int -> !torch.vtensor<[4],si8>
  %1 = torch.aten.sub.Scalar %x, %int300, %int2 : !torch.vtensor<[4],si8>, !torch.int, !torch.int -> !torch.vtensor<[4],si8>
  %2 = torch.aten.remainder.Scalar %u, %intm1 : !torch.vtensor<[4],ui8>, !torch.int -> !torch.vtensor<[4],ui8>
  return %0, %1, %2 : !torch.vtensor<[4],si8>, !torch.vtensor<[4],si8>, !torch.vtensor<[4],ui8>
}

// A 0-d literal of another integer dtype is re-made in the op's dtype; wider
// results are left alone.
// CHECK-LABEL: func.func @zero_d(
// CHECK: %[[L:.*]] = torch.vtensor.literal(dense<3> : tensor<si8>) : !torch.vtensor<[],si8>
// CHECK: torch.aten.mul.Tensor %arg0, %[[L]] : !torch.vtensor<[4],si8>, !torch.vtensor<[],si8>
// CHECK: torch.aten.mul.Scalar %arg1, %{{.*}} : !torch.vtensor<[4],si32>, !torch.int
func.func @zero_d(%x: !torch.vtensor<[4],si8>, %y: !torch.vtensor<[4],si32>) -> (!torch.vtensor<[4],si8>, !torch.vtensor<[4],si32>) {
  %c = torch.vtensor.literal(dense<3> : tensor<si64>) : !torch.vtensor<[],si64>
  %0 = torch.aten.mul.Tensor %x, %c : !torch.vtensor<[4],si8>, !torch.vtensor<[],si64> -> !torch.vtensor<[4],si8>
  %int3 = torch.constant.int 3
  %1 = torch.aten.mul.Scalar %y, %int3 : !torch.vtensor<[4],si32>, !torch.int -> !torch.vtensor<[4],si32>
  return %0, %1 : !torch.vtensor<[4],si8>, !torch.vtensor<[4],si32>
}

// 8-bit integer matmuls multiply in int32 and truncate (wrapping, as
// PyTorch's int8 arithmetic); the conversion to linalg crashes on them.
// CHECK-LABEL: func.func @matmuls(
// CHECK: %[[A:.*]] = torch.aten.to.dtype %arg0, %{{.*}} -> !torch.vtensor<[3,4],si32>
// CHECK: %[[B:.*]] = torch.aten.to.dtype %arg1, %{{.*}} -> !torch.vtensor<[4,2],si32>
// CHECK: %[[P:.*]] = torch.aten.mm %[[A]], %[[B]] : !torch.vtensor<[3,4],si32>, !torch.vtensor<[4,2],si32> -> !torch.vtensor<[3,2],si32>
// CHECK: torch.aten.to.dtype %[[P]], %{{.*}} -> !torch.vtensor<[3,2],si8>
// CHECK: torch.aten.bmm %{{.*}}, %{{.*}} : !torch.vtensor<[2,3,4],si32>, !torch.vtensor<[2,4,2],si32> -> !torch.vtensor<[2,3,2],si32>
// CHECK: torch.aten.to.dtype %{{.*}} -> !torch.vtensor<[2,3,2],ui8>
// LINALG-LABEL: func.func @matmuls(
// LINALG: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<3x4xi32>, tensor<4x2xi32>)
// LINALG: arith.trunci %{{.*}} : i32 to i8
func.func @matmuls(%a: !torch.vtensor<[3,4],si8>, %b: !torch.vtensor<[4,2],si8>, %c: !torch.vtensor<[2,3,4],ui8>, %d: !torch.vtensor<[2,4,2],ui8>) -> (!torch.vtensor<[3,2],si8>, !torch.vtensor<[2,3,2],ui8>) {
  %0 = torch.aten.mm %a, %b : !torch.vtensor<[3,4],si8>, !torch.vtensor<[4,2],si8> -> !torch.vtensor<[3,2],si8>
  %1 = torch.aten.bmm %c, %d : !torch.vtensor<[2,3,4],ui8>, !torch.vtensor<[2,4,2],ui8> -> !torch.vtensor<[2,3,2],ui8>
  return %0, %1 : !torch.vtensor<[3,2],si8>, !torch.vtensor<[2,3,2],ui8>
}

// where's value operands take the result's dtype (a bool one crashes the
// conversion).
// CHECK-LABEL: func.func @where(
// CHECK: %[[C:.*]] = torch.aten.to.dtype %arg0, %{{.*}} -> !torch.vtensor<[4],si8>
// CHECK: torch.aten.where.self %arg0, %arg1, %[[C]] : !torch.vtensor<[4],i1>, !torch.vtensor<[4],si8>, !torch.vtensor<[4],si8> -> !torch.vtensor<[4],si8>
func.func @where(%c: !torch.vtensor<[4],i1>, %x: !torch.vtensor<[4],si8>) -> !torch.vtensor<[4],si8> {
  %0 = torch.aten.where.self %c, %x, %c : !torch.vtensor<[4],i1>, !torch.vtensor<[4],si8>, !torch.vtensor<[4],i1> -> !torch.vtensor<[4],si8>
  return %0 : !torch.vtensor<[4],si8>
}

// A comparison of bool with int8 compares in the promoted dtype (int8); the
// conversion crashes on the mixed form.
// CHECK-LABEL: func.func @compare(
// CHECK: %[[B:.*]] = torch.aten.to.dtype %arg0, %{{.*}} -> !torch.vtensor<[4],si8>
// CHECK: torch.aten.gt.Tensor %[[B]], %arg1 : !torch.vtensor<[4],si8>, !torch.vtensor<[4],si8> -> !torch.vtensor<[4],i1>
func.func @compare(%b: !torch.vtensor<[4],i1>, %x: !torch.vtensor<[4],si8>) -> !torch.vtensor<[4],i1> {
  %0 = torch.aten.gt.Tensor %b, %x : !torch.vtensor<[4],i1>, !torch.vtensor<[4],si8> -> !torch.vtensor<[4],i1>
  return %0 : !torch.vtensor<[4],i1>
}
