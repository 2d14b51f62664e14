// RUN: not fxc-opt %s --split-input-file 2>&1 | FileCheck %s

// The structural rules IRDL states, as MLIR diagnostics (with the line).

// CHECK: invalid.mlir:[[@LINE+2]]: error: expected base type 'fxc.token' but got 'torch.int'
func.func @make_token_type() {
  %0 = "fxc.make_token"() : () -> !torch.int
  return
}

// -----

// CHECK: invalid.mlir:[[@LINE+2]]: error: op expects exactly 0 operands, but got 1
func.func @make_token_operand(%t: !fxc.token) {
  %0 = "fxc.make_token"(%t) : (!fxc.token) -> !fxc.token
  return
}

// -----

// CHECK: invalid.mlir:[[@LINE+2]]: error: expected base type 'fxc.token' but got 'torch.vtensor'
func.func @sink_non_token(%t: !torch.vtensor<[0],f32>) {
  "fxc.sink_tokens"(%t) : (!torch.vtensor<[0],f32>) -> ()
  return
}

// -----

// CHECK: invalid.mlir:[[@LINE+3]]: error: expected base type 'fxc.token' but got 'torch.vtensor'
func.func @with_effects_token_operand(%t: !torch.vtensor<[0],f32>) {
  %s = torch.constant.str "moo"
  %0 = "fxc.with_effects"(%t, %s) {op = "aten._print.default", operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0, 0>} : (!torch.vtensor<[0],f32>, !torch.str) -> !fxc.token
  return
}

// -----

// CHECK: invalid.mlir:[[@LINE+2]]: error: 'operandSegmentSizes' attribute is expected but not provided
func.func @with_effects_no_segments(%t: !fxc.token) {
  %0 = "fxc.with_effects"(%t) {op = "aten._print.default"} : (!fxc.token) -> !fxc.token
  return
}

// -----

// CHECK: invalid.mlir:[[@LINE+3]]: error: 'fxc.with_effects' op attribute "op" is expected but not provided
func.func @with_effects_no_op(%t: !fxc.token) {
  %s = torch.constant.str "moo"
  %0 = "fxc.with_effects"(%t, %s) {operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0, 0>} : (!fxc.token, !torch.str) -> !fxc.token
  return
}

// -----

// CHECK: invalid.mlir:[[@LINE+2]]: error: op expects exactly 1 results, but got 2
func.func @out_dtype_two_results(%a: !torch.vtensor<[2],si8>) {
  %0:2 = "fxc.out_dtype"(%a) {op = "aten.topk.default", operandSegmentSizes = array<i32: 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, out_dtype = si32} : (!torch.vtensor<[2],si8>) -> (!torch.vtensor<[2],si32>, !torch.vtensor<[2],si32>)
  return
}

// -----

// CHECK: invalid.mlir:[[@LINE+2]]: error: 'fxc.out_dtype' op attribute "out_dtype" is expected but not provided
func.func @out_dtype_missing_attr(%a: !torch.vtensor<[2],si8>, %b: !torch.vtensor<[2],si8>) {
  %0 = "fxc.out_dtype"(%a, %b) {op = "aten.mul.Tensor", operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>} : (!torch.vtensor<[2],si8>, !torch.vtensor<[2],si8>) -> !torch.vtensor<[2],si32>
  return
}
