// RUN: not fxc-opt %s --split-input-file 2>&1 | FileCheck %s

// fxc-verify's rules for fxc.out_dtype (fxc-opt runs it on every input): each
// invalid op is reported at its own line, and fxc-opt exits with status 1.

// The out dtype attribute disagrees with the result type.
func.func @attr_vs_result(%a: !torch.vtensor<[4,5],si8>, %b: !torch.vtensor<[5,3],si8>) -> !torch.vtensor<[4,3],si64> {
  // CHECK: verify-out-dtype.mlir:[[@LINE+1]]: error: 'fxc.out_dtype' op result element type si64 does not match out_dtype si32
  %0 = "fxc.out_dtype"(%a, %b) {op = "aten.mm.default", operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, out_dtype = si32} : (!torch.vtensor<[4,5],si8>, !torch.vtensor<[5,3],si8>) -> !torch.vtensor<[4,3],si64>
  return %0 : !torch.vtensor<[4,3],si64>
}

// -----

// The out dtype is not a PyTorch dtype.
func.func @not_a_dtype(%a: !torch.vtensor<[4,5],si8>, %b: !torch.vtensor<[5,3],si8>) -> !torch.vtensor<[4,3],si32> {
  // CHECK: verify-out-dtype.mlir:[[@LINE+1]]: error: 'fxc.out_dtype' op out_dtype !torch.int is not a PyTorch dtype
  %0 = "fxc.out_dtype"(%a, %b) {op = "aten.mm.default", operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, out_dtype = !torch.int} : (!torch.vtensor<[4,5],si8>, !torch.vtensor<[5,3],si8>) -> !torch.vtensor<[4,3],si32>
  return %0 : !torch.vtensor<[4,3],si32>
}

// -----

// The result is not a value tensor.
func.func @scalar_result(%a: !torch.vtensor<[4,5],si8>, %b: !torch.vtensor<[5,3],si8>) -> !torch.int {
  // CHECK: verify-out-dtype.mlir:[[@LINE+1]]: error: 'fxc.out_dtype' op result must be a !torch.vtensor, got !torch.int
  %0 = "fxc.out_dtype"(%a, %b) {op = "aten.mm.default", operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, out_dtype = si32} : (!torch.vtensor<[4,5],si8>, !torch.vtensor<[5,3],si8>) -> !torch.int
  return %0 : !torch.int
}

// -----

// A wrapped op with two results (PyTorch: "out_dtype's can only apply to ops that return a single tensor").
func.func @multi_result(%a: !torch.vtensor<[10],f32>) -> !torch.vtensor<[5],si32> {
  %k = torch.constant.int 5
  %dim = torch.constant.int -1
  %true = torch.constant.bool true
  // CHECK: verify-out-dtype.mlir:[[@LINE+1]]: error: 'fxc.out_dtype' op wraps aten.topk.default, which does not return a single tensor
  %0 = "fxc.out_dtype"(%a, %k, %dim, %true, %true) {op = "aten.topk.default", operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0>, out_dtype = si32} : (!torch.vtensor<[10],f32>, !torch.int, !torch.int, !torch.bool, !torch.bool) -> !torch.vtensor<[5],si32>
  return %0 : !torch.vtensor<[5],si32>
}

// -----

// A wrapped op returning a list of tensors.
func.func @list_result(%a: !torch.vtensor<[10],f32>) -> !torch.vtensor<[10],si32> {
  %n = torch.constant.int 10
  %dim = torch.constant.int 0
  // CHECK: verify-out-dtype.mlir:[[@LINE+1]]: error: 'fxc.out_dtype' op wraps aten.split_copy.Tensor, which does not return a single tensor
  %0 = "fxc.out_dtype"(%a, %n, %dim) {op = "aten.split_copy.Tensor", operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0>, out_dtype = si32} : (!torch.vtensor<[10],f32>, !torch.int, !torch.int) -> !torch.vtensor<[10],si32>
  return %0 : !torch.vtensor<[10],si32>
}

// -----

// An in-place wrapped op (PyTorch: "out_dtype's first argument needs to be a functional operator").
func.func @in_place(%a: !torch.vtensor<[5,5],si8>, %b: !torch.vtensor<[5,5],si8>) -> !torch.vtensor<[5,5],si32> {
  %one = torch.constant.int 1
  // CHECK: verify-out-dtype.mlir:[[@LINE+1]]: error: 'fxc.out_dtype' op wraps aten.add_.Tensor, which is not functional
  %0 = "fxc.out_dtype"(%a, %b, %one) {op = "aten.add_.Tensor", operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0>, out_dtype = si32} : (!torch.vtensor<[5,5],si8>, !torch.vtensor<[5,5],si8>, !torch.int) -> !torch.vtensor<[5,5],si32>
  return %0 : !torch.vtensor<[5,5],si32>
}

// -----

// An operator PyTorch does not have.
func.func @unknown(%a: !torch.vtensor<[4,5],si8>) -> !torch.vtensor<[4,5],si32> {
  // CHECK: verify-out-dtype.mlir:[[@LINE+1]]: error: 'fxc.out_dtype' op wraps unknown operator 'aten.no_such_op.default'
  %0 = "fxc.out_dtype"(%a) {op = "aten.no_such_op.default", operandSegmentSizes = array<i32: 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, out_dtype = si32} : (!torch.vtensor<[4,5],si8>) -> !torch.vtensor<[4,5],si32>
  return %0 : !torch.vtensor<[4,5],si32>
}

// -----

// Argument slots are filled in order, without gaps.
func.func @slot_gap(%a: !torch.vtensor<[4,5],si8>, %b: !torch.vtensor<[5,3],si8>) -> !torch.vtensor<[4,3],si32> {
  // CHECK: verify-out-dtype.mlir:[[@LINE+1]]: error: 'fxc.out_dtype' op operandSegmentSizes must fill slots in order without gaps, got [1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]
  %0 = "fxc.out_dtype"(%a, %b) {op = "aten.mm.default", operandSegmentSizes = array<i32: 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0>, out_dtype = si32} : (!torch.vtensor<[4,5],si8>, !torch.vtensor<[5,3],si8>) -> !torch.vtensor<[4,3],si32>
  return %0 : !torch.vtensor<[4,3],si32>
}

// -----

// Fewer arguments than the schema has.
func.func @too_few(%a: !torch.vtensor<[4,5],si8>) -> !torch.vtensor<[4,5],si32> {
  // CHECK: verify-out-dtype.mlir:[[@LINE+1]]: error: 'fxc.out_dtype' op wraps aten.mm.default, which takes 2 arguments, but has 1
  %0 = "fxc.out_dtype"(%a) {op = "aten.mm.default", operandSegmentSizes = array<i32: 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, out_dtype = si32} : (!torch.vtensor<[4,5],si8>) -> !torch.vtensor<[4,5],si32>
  return %0 : !torch.vtensor<[4,5],si32>
}

// -----

// More arguments than the schema has.
func.func @too_many(%a: !torch.vtensor<[4,5],si8>) -> !torch.vtensor<[4,5],si32> {
  %two = torch.constant.int 2
  // CHECK: verify-out-dtype.mlir:[[@LINE+1]]: error: 'fxc.out_dtype' op wraps aten.mul.Scalar, which takes 2 arguments, but has 3
  %0 = "fxc.out_dtype"(%a, %two, %two) {op = "aten.mul.Scalar", operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0>, out_dtype = si32} : (!torch.vtensor<[4,5],si8>, !torch.int, !torch.int) -> !torch.vtensor<[4,5],si32>
  return %0 : !torch.vtensor<[4,5],si32>
}

// -----

// A scalar where the schema takes a tensor.
func.func @scalar_for_tensor(%a: !torch.vtensor<[4,5],si8>) -> !torch.vtensor<[4,5],si32> {
  %two = torch.constant.int 2
  // CHECK: verify-out-dtype.mlir:[[@LINE+1]]: error: 'fxc.out_dtype' op argument 1 ('mat2') of aten.mm.default must be a tensor, got !torch.int
  %0 = "fxc.out_dtype"(%a, %two) {op = "aten.mm.default", operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, out_dtype = si32} : (!torch.vtensor<[4,5],si8>, !torch.int) -> !torch.vtensor<[4,5],si32>
  return %0 : !torch.vtensor<[4,5],si32>
}

// -----

// A tensor where the schema takes a scalar.
func.func @tensor_for_scalar(%a: !torch.vtensor<[4,5],si8>) -> !torch.vtensor<[4,5],si32> {
  // CHECK: verify-out-dtype.mlir:[[@LINE+1]]: error: 'fxc.out_dtype' op argument 1 ('other') of aten.mul.Scalar must be a scalar or list, not a tensor, got !torch.vtensor<[4,5],si8>
  %0 = "fxc.out_dtype"(%a, %a) {op = "aten.mul.Scalar", operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, out_dtype = si32} : (!torch.vtensor<[4,5],si8>, !torch.vtensor<[4,5],si8>) -> !torch.vtensor<[4,5],si32>
  return %0 : !torch.vtensor<[4,5],si32>
}
