// RUN: not fxc-opt %s --split-input-file 2>&1 | FileCheck %s

// The token rules fxc-verify adds to IRDL's structure: effect tokens are
// linear (one use each, so the effects are totally ordered), and
// fxc.with_effects wraps an op that takes as many arguments as it is given,
// returns at least as many tensors as it has results, and neither mutates
// nor aliases (PyTorch's own rule).

// CHECK: invalid-tokens.mlir:[[@LINE+5]]: error: effect token (result 0 of 'fxc.with_effects') is used 2 times; a token is used at most once, so that effects are totally ordered
func.func @forked_result(%t: !fxc.token) -> (!fxc.token, !fxc.token) {
  %s = torch.constant.str "moo"
  %t1 = "fxc.with_effects"(%t, %s) {op = "aten._print.default", operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0, 0>} : (!fxc.token, !torch.str) -> !fxc.token
  %t2 = "fxc.with_effects"(%t1, %s) {op = "aten._print.default", operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0, 0>} : (!fxc.token, !torch.str) -> !fxc.token
  %t3 = "fxc.with_effects"(%t1, %s) {op = "aten._print.default", operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0, 0>} : (!fxc.token, !torch.str) -> !fxc.token
  return %t2, %t3 : !fxc.token, !fxc.token
}

// -----

// CHECK: invalid-tokens.mlir:[[@LINE+4]]: error: effect token (block argument 0) is used 2 times
func.func @forked_argument(%t: !fxc.token) -> !fxc.token {
  %s = torch.constant.str "moo"
  %t1 = "fxc.with_effects"(%t, %s) {op = "aten._print.default", operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0, 0>} : (!fxc.token, !torch.str) -> !fxc.token
  "fxc.sink_tokens"(%t) : (!fxc.token) -> ()
  return %t1 : !fxc.token
}

// -----

// CHECK: invalid-tokens.mlir:[[@LINE+4]]: error: effect token (result 0 of 'fxc.make_token') is used 2 times
func.func @forked_make_token() {
  %t = "fxc.make_token"() : () -> !fxc.token
  "fxc.sink_tokens"(%t) : (!fxc.token) -> ()
  "fxc.sink_tokens"(%t) : (!fxc.token) -> ()
  return
}

// -----

// CHECK: invalid-tokens.mlir:[[@LINE+2]]: error: 'fxc.with_effects' op wraps aten.absolute_.default, which mutates or aliases its arguments (Ops with aliasing is not supported)
func.func @aliasing_op(%t: !fxc.token, %x: !torch.vtensor<[4],f32>) -> (!fxc.token, !torch.vtensor<[4],f32>) {
  %t1, %r = "fxc.with_effects"(%t, %x) {op = "aten.absolute_.default", operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 1, 0, 0, 0>} : (!fxc.token, !torch.vtensor<[4],f32>) -> (!fxc.token, !torch.vtensor<[4],f32>)
  return %t1, %r : !fxc.token, !torch.vtensor<[4],f32>
}

// -----

// CHECK: invalid-tokens.mlir:[[@LINE+3]]: error: 'fxc.with_effects' op wraps aten._print.default, which returns 0 tensors, but has 1 results
func.func @too_many_results(%t: !fxc.token) -> !fxc.token {
  %s = torch.constant.str "moo"
  %t1, %r = "fxc.with_effects"(%t, %s) {op = "aten._print.default", operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 1, 0, 0, 0>} : (!fxc.token, !torch.str) -> (!fxc.token, !torch.vtensor<[1],f32>)
  return %t1 : !fxc.token
}

// -----

// CHECK: invalid-tokens.mlir:[[@LINE+3]]: error: 'fxc.with_effects' op wraps aten._print.default, which takes 1 arguments, but has 2
func.func @wrong_arity(%t: !fxc.token) -> !fxc.token {
  %s = torch.constant.str "moo"
  %t1 = "fxc.with_effects"(%t, %s, %s) {op = "aten._print.default", operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0, 0>} : (!fxc.token, !torch.str, !torch.str) -> !fxc.token
  return %t1 : !fxc.token
}

// -----

// CHECK: invalid-tokens.mlir:[[@LINE+3]]: error: 'fxc.with_effects' op operandSegmentSizes must fill slots in order without gaps, got [0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
func.func @slot_gap(%t: !fxc.token) -> !fxc.token {
  %s = torch.constant.str "moo"
  %t1 = "fxc.with_effects"(%t, %s) {op = "aten._print.default", operandSegmentSizes = array<i32: 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0, 0>} : (!fxc.token, !torch.str) -> !fxc.token
  return %t1 : !fxc.token
}
