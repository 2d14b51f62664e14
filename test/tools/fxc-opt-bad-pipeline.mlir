// RUN: not fxc-opt %s --pass-pipeline='builtin.module(no-such-pass)' 2>&1 | FileCheck %s
// RUN: not fxc-opt %s --stage ttgir 2>&1 | FileCheck %s --check-prefix=STAGE

// CHECK-NOT: Traceback
// CHECK: error: {{.*}}no-such-pass
// STAGE: error: unknown stage 'ttgir'; stages with passes: fxc, linalg, bufferized, llvm
func.func @f() {
  return
}
