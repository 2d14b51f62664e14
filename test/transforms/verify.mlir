// RUN: not fxc-opt %s --split-input-file --fxc-verify 2>%t.err | FileCheck %s --check-prefix=OK
// RUN: FileCheck %s --input-file=%t.err

// fxc-verify: the rules IRDL cannot state (out_dtype's own cases are in
// verify-out-dtype.mlir).  A well-formed module passes unchanged.

// OK-LABEL: func.func @valid
// OK: "fxc.with_effects"
func.func @valid(%t: !fxc.token) -> !fxc.token {
  %s = torch.constant.str "moo"
  %0 = "fxc.with_effects"(%t, %s) {op = "aten._print.default", operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0, 0>} : (!fxc.token, !torch.str) -> !fxc.token
  return %0 : !fxc.token
}

// -----

func.func @gap(%t: !fxc.token) -> !fxc.token {
  %s = torch.constant.str "moo"
  // CHECK: verify.mlir:[[@LINE+1]]: error: 'fxc.with_effects' op operandSegmentSizes must fill slots in order without gaps, got [0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
  %0 = "fxc.with_effects"(%t, %s) {op = "aten._print.default", operandSegmentSizes = array<i32: 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0, 0>} : (!fxc.token, !torch.str) -> !fxc.token
  return %0 : !fxc.token
}

// -----

func.func @arity(%t: !fxc.token) -> !fxc.token {
  // CHECK: verify.mlir:[[@LINE+1]]: error: 'fxc.with_effects' op wraps aten._print.default, which takes 1 arguments, but has 0
  %0 = "fxc.with_effects"(%t) {op = "aten._print.default", operandSegmentSizes = array<i32: 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0, 0>} : (!fxc.token) -> !fxc.token
  return %0 : !fxc.token
}

// -----

func.func @aliasing(%t: !fxc.token, %x: !torch.vtensor<[3],f32>) -> !fxc.token {
  // CHECK: verify.mlir:[[@LINE+1]]: error: 'fxc.with_effects' op wraps aten.absolute_.default, which mutates or aliases its arguments (Ops with aliasing is not supported)
  %0, %1 = "fxc.with_effects"(%t, %x) {op = "aten.absolute_.default", operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 1, 0, 0, 0>} : (!fxc.token, !torch.vtensor<[3],f32>) -> (!fxc.token, !torch.vtensor<[3],f32>)
  return %0 : !fxc.token
}

// -----

func.func @too_many_results(%t: !fxc.token) -> !fxc.token {
  %s = torch.constant.str "moo"
  // CHECK: verify.mlir:[[@LINE+1]]: error: 'fxc.with_effects' op wraps aten._print.default, which returns 0 tensors, but has 1 results
  %0, %1 = "fxc.with_effects"(%t, %s) {op = "aten._print.default", operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 1, 0, 0, 0>} : (!fxc.token, !torch.str) -> (!fxc.token, !torch.vtensor<[3],f32>)
  return %0 : !fxc.token
}
