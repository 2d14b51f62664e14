// RUN: fxc-opt %s --pass-pipeline='builtin.module(fxc-recoverable-checks)' | FileCheck %s

// A check on a value the code computed: no abort(); a branch to a call of
// fxc_check_failed with the check's index into the module's messages.
// CHECK: module attributes {fxc.checks = ["Runtime assertion failed for expression u0 <= 10", "second"]}
// CHECK: func.func private @fxc_check_failed(i32)
// CHECK-LABEL: func.func @main(
// CHECK:   %[[OK:.*]] = arith.cmpi sle
// CHECK:   cf.cond_br %[[OK]], ^[[REST:.*]], ^[[FAIL:.*]]
// CHECK: ^[[FAIL]]:
// CHECK:   %[[I:.*]] = arith.constant 0 : i32
// CHECK:   call @fxc_check_failed(%[[I]]) : (i32) -> ()
// CHECK:   cf.br ^[[REST]]
// CHECK: ^[[REST]]:
// CHECK:   arith.addi
// CHECK:   arith.constant 1 : i32
// CHECK:   call @fxc_check_failed
// CHECK-NOT: cf.assert
func.func @main(%n: i64) -> i64 {
  %c10 = arith.constant 10 : i64
  %ok = arith.cmpi sle, %n, %c10 : i64
  cf.assert %ok, "Runtime assertion failed for expression u0 <= 10"
  %m = arith.addi %n, %n : i64
  %pos = arith.cmpi sgt, %m, %c10 : i64
  cf.assert %pos, "second"
  return %m : i64
}
