// RUN: not fxc-opt %s 2>&1 | FileCheck %s

// A parse error prints MLIR's diagnostic at the file's line and exits 1,
// with no Python traceback.
// CHECK-NOT: Traceback
// CHECK: fxc-opt-parse-error.mlir:[[@LINE+2]]: error: use of undeclared SSA value name
func.func @f() -> !torch.int {
  return %undefined : !torch.int
}
