// RUN: fxc-opt %s --fxc-lower-effects | FileCheck %s

// Each effect becomes a call to its own host-runtime declaration, in token
// order; tokens leave the signature.

// CHECK-DAG: func.func private @fxc_host_0() attributes {fxc.args = [{value = "moo"}], fxc.dtypes = [], fxc.op = "aten._print.default", llvm.emit_c_interface}
// CHECK-DAG: func.func private @fxc_host_1(!torch.vtensor<[3],f32>) -> !torch.vtensor<[3],f32> attributes {fxc.args = [{tensor = 0 : i64}, {value = "x"}], fxc.dtypes = ["f32", "f32"], fxc.op = "mylib.record.default", llvm.emit_c_interface}
// CHECK-DAG: func.func private @fxc_host_2() attributes {fxc.args = [{value = "cow"}], fxc.dtypes = [], fxc.op = "aten._print.default", llvm.emit_c_interface}
// CHECK-LABEL: func.func @main(
// CHECK-SAME: %[[X:.*]]: !torch.vtensor<[3],f32>) -> !torch.vtensor<[3],f32>
// CHECK-NOT: fxc.
// CHECK: call @fxc_host_0() : () -> ()
// CHECK: %[[Y:.*]] = torch.aten.add.Tensor
// CHECK: %[[R:.*]] = call @fxc_host_1(%[[Y]])
// CHECK: call @fxc_host_2() : () -> ()
// CHECK: return %[[R]] : !torch.vtensor<[3],f32>
func.func @main(%tok: !fxc.token, %x: !torch.vtensor<[3],f32>) -> (!fxc.token, !torch.vtensor<[3],f32>) {
  %moo = torch.constant.str "moo"
  %t1 = "fxc.with_effects"(%tok, %moo) {op = "aten._print.default", operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0, 0>} : (!fxc.token, !torch.str) -> !fxc.token
  %int1 = torch.constant.int 1
  %y = torch.aten.add.Tensor %x, %x, %int1 : !torch.vtensor<[3],f32>, !torch.vtensor<[3],f32>, !torch.int -> !torch.vtensor<[3],f32>
  %name = torch.constant.str "x"
  %t2, %r = "fxc.with_effects"(%t1, %y, %name) {op = "mylib.record.default", operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 1, 0, 0, 0>} : (!fxc.token, !torch.vtensor<[3],f32>, !torch.str) -> (!fxc.token, !torch.vtensor<[3],f32>)
  %cow = torch.constant.str "cow"
  %t3 = "fxc.with_effects"(%t2, %cow) {op = "aten._print.default", operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0, 0>} : (!fxc.token, !torch.str) -> !fxc.token
  return %t3, %r : !fxc.token, !torch.vtensor<[3],f32>
}
