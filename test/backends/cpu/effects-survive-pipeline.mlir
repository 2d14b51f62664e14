// RUN: fxc-opt %s --stage fxc --stage linalg --stage bufferized --stage llvm | FileCheck %s

// Effects survive every optimisation the pipeline runs: pure computations
// between the effects whose results are unused are deleted (no sin or exp
// is left), the effects are not (calls to external functions may have side
// effects), and they stay in token order.

// CHECK-DAG: llvm.func private @[[A:fxc_host_[0-9]+]]() attributes {fxc.args = [{value = "a"}]
// CHECK-DAG: llvm.func private @[[B:fxc_host_[0-9]+]]() attributes {fxc.args = [{value = "b"}]
// CHECK-DAG: llvm.func private @[[C:fxc_host_[0-9]+]]({{.*}}) attributes {fxc.args = [{tensor = 0 : i64}, {value = "c"}]
// CHECK-LABEL: llvm.func @main(
// CHECK-NOT: llvm.intr.sin
// CHECK-NOT: llvm.intr.exp
// CHECK: llvm.call @[[A]]()
// CHECK-NOT: llvm.intr.sin
// CHECK: llvm.call @[[B]]()
// CHECK-NOT: llvm.intr.exp
// CHECK: llvm.call @[[C]](
// CHECK-NOT: llvm.intr.sin
// CHECK-NOT: llvm.intr.exp
// CHECK: llvm.return
func.func @main(%tok: !fxc.token, %x: !torch.vtensor<[3],f32>) -> (!fxc.token, !torch.vtensor<[3],f32>) {
  %a = torch.constant.str "a"
  %t1 = "fxc.with_effects"(%tok, %a) {op = "aten._print.default", operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0, 0>} : (!fxc.token, !torch.str) -> !fxc.token
  %dead1 = torch.aten.sin %x : !torch.vtensor<[3],f32> -> !torch.vtensor<[3],f32>
  %b = torch.constant.str "b"
  %t2 = "fxc.with_effects"(%t1, %b) {op = "aten._print.default", operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0, 0>} : (!fxc.token, !torch.str) -> !fxc.token
  %dead2 = torch.aten.exp %x : !torch.vtensor<[3],f32> -> !torch.vtensor<[3],f32>
  %c = torch.constant.str "c"
  %t3, %r = "fxc.with_effects"(%t2, %x, %c) {op = "mylib.record.default", operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 1, 0, 0, 0>} : (!fxc.token, !torch.vtensor<[3],f32>, !torch.str) -> (!fxc.token, !torch.vtensor<[3],f32>)
  return %t3, %r : !fxc.token, !torch.vtensor<[3],f32>
}
