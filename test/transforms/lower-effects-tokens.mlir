// RUN: fxc-opt %s --split-input-file --fxc-lower-effects | FileCheck %s

// Unlifted tokens: fxc.make_token / fxc.sink_tokens disappear and the
// effects stay calls, in token order.

// CHECK-DAG: func.func private @[[A:fxc_host_[0-9]+]]() attributes {fxc.args = [{value = "a"}], fxc.dtypes = [], fxc.op = "aten._print.default", llvm.emit_c_interface}
// CHECK-DAG: func.func private @[[B:fxc_host_[0-9]+]]() attributes {fxc.args = [{value = "b"}], fxc.dtypes = [], fxc.op = "aten._print.default", llvm.emit_c_interface}
// CHECK-LABEL: func.func @unlifted(
// CHECK-SAME: %{{.*}}: !torch.vtensor<[3],f32>) -> !torch.vtensor<[3],f32>
// CHECK-NOT: fxc.
// CHECK: call @[[A]]() : () -> ()
// CHECK: call @[[B]]() : () -> ()
// CHECK-NOT: fxc.
// CHECK: return
func.func @unlifted(%x: !torch.vtensor<[3],f32>) -> !torch.vtensor<[3],f32> {
  %t0 = "fxc.make_token"() : () -> !fxc.token
  %a = torch.constant.str "a"
  %t1 = "fxc.with_effects"(%t0, %a) {op = "aten._print.default", operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0, 0>} : (!fxc.token, !torch.str) -> !fxc.token
  %b = torch.constant.str "b"
  %t2 = "fxc.with_effects"(%t1, %b) {op = "aten._print.default", operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0, 0>} : (!fxc.token, !torch.str) -> !fxc.token
  "fxc.sink_tokens"(%t2) : (!fxc.token) -> ()
  return %x : !torch.vtensor<[3],f32>
}

// -----

// A script object (torchbind) argument is a string constant marked
// fxc.object; the host call refers to the object by that name.  Constant
// lists and None become attributes too.

// CHECK: func.func private @fxc_host_0(!torch.vtensor<[2,3],f32>) -> !torch.vtensor<[2,3],f32> attributes {fxc.args = [{object = "attr"}, {tensor = 0 : i64}], fxc.dtypes = ["f32", "f32"], fxc.op = "_TorchScriptTesting.takes_foo.default", llvm.emit_c_interface}
// CHECK-LABEL: func.func @torchbind(
// CHECK: %[[R:.*]] = call @fxc_host_0(%arg0) : (!torch.vtensor<[2,3],f32>) -> !torch.vtensor<[2,3],f32>
// CHECK: return %[[R]]
func.func @torchbind(%t: !fxc.token, %x: !torch.vtensor<[2,3],f32>) -> (!fxc.token, !torch.vtensor<[2,3],f32>) {
  %obj = torch.constant.str "attr" {fxc.object}
  %t1, %r = "fxc.with_effects"(%t, %obj, %x) {op = "_TorchScriptTesting.takes_foo.default", operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 1, 0, 0, 0>} : (!fxc.token, !torch.str, !torch.vtensor<[2,3],f32>) -> (!fxc.token, !torch.vtensor<[2,3],f32>)
  return %t1, %r : !fxc.token, !torch.vtensor<[2,3],f32>
}

// -----

// CHECK: func.func private @fxc_host_0() attributes {fxc.args = [{value = [1, 2]}, {value}, {value = 2.500000e+00 : f64}, {value = true}], fxc.dtypes = [], fxc.op = "mylib.consts.default", llvm.emit_c_interface}
func.func @constants(%t: !fxc.token) -> !fxc.token {
  %int1 = torch.constant.int 1
  %int2 = torch.constant.int 2
  %list = torch.prim.ListConstruct %int1, %int2 : (!torch.int, !torch.int) -> !torch.list<int>
  %none = torch.constant.none
  %f = torch.constant.float 2.5
  %true = torch.constant.bool true
  %t1 = "fxc.with_effects"(%t, %list, %none, %f, %true) {op = "mylib.consts.default", operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0, 0>} : (!fxc.token, !torch.list<int>, !torch.none, !torch.float, !torch.bool) -> !fxc.token
  return %t1 : !fxc.token
}

