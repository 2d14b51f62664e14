// RUN: not fxc-opt %s --split-input-file --fxc-lower-effects 2>&1 | FileCheck %s

// An argument of an effectful op must be a tensor or a compile-time constant:
// the host runtime gets nothing else.

// CHECK: lower-effects-invalid.mlir:[[@LINE+2]]: error: argument 0 of effectful op mylib.takes_int.default is neither a tensor nor a compile-time constant
func.func @not_constant(%t: !fxc.token, %n: !torch.int) -> !fxc.token {
  %t1 = "fxc.with_effects"(%t, %n) {op = "mylib.takes_int.default", operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0, 0>} : (!fxc.token, !torch.int) -> !fxc.token
  return %t1 : !fxc.token
}

// -----

// A token used by an op fxc-lower-effects does not know cannot be erased.

// CHECK: lower-effects-invalid.mlir:[[@LINE+2]]: error: an effect token is used by an op fxc-lower-effects does not know
func.func @unknown_token_user() -> i32 {
  %t = "fxc.make_token"() : () -> !fxc.token
  %u = builtin.unrealized_conversion_cast %t : !fxc.token to i32
  return %u : i32
}
