// RUN: fxc-opt %s | FileCheck %s
// RUN: fxc-opt %s | fxc-opt | FileCheck %s
// RUN: torch-mlir-opt --irdl-file=%fxc_irdl %s | FileCheck %s

// Every fxc op and type round-trips through fxc-opt and through
// torch-mlir-opt loading the same IRDL file (the one source of truth).

// CHECK-LABEL: func.func @tokens(
// CHECK-SAME: !fxc.token
// CHECK: %[[T:.*]] = "fxc.make_token"() : () -> !fxc.token
// CHECK: "fxc.sink_tokens"(%arg0, %[[T]]) : (!fxc.token, !fxc.token) -> ()
func.func @tokens(%t: !fxc.token) {
  %0 = "fxc.make_token"() : () -> !fxc.token
  "fxc.sink_tokens"(%t, %0) : (!fxc.token, !fxc.token) -> ()
  return
}

// CHECK-LABEL: func.func @effects(
// CHECK: "fxc.with_effects"(%arg0, %{{.*}}) {op = "aten._print.default", operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0, 0>} : (!fxc.token, !torch.str) -> !fxc.token
// CHECK: "fxc.with_effects"(%{{.*}}, %arg1) {op = "mylib.record.default", {{.*}}} : (!fxc.token, !torch.vtensor<[3],f32>) -> (!fxc.token, !torch.vtensor<[3],f32>)
func.func @effects(%t: !fxc.token, %x: !torch.vtensor<[3],f32>) -> (!fxc.token, !torch.vtensor<[3],f32>) {
  %s = torch.constant.str "moo"
  %t1 = "fxc.with_effects"(%t, %s) {op = "aten._print.default", operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0, 0>} : (!fxc.token, !torch.str) -> !fxc.token
  %t2, %r = "fxc.with_effects"(%t1, %x) {op = "mylib.record.default", operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 1, 0, 0, 0>} : (!fxc.token, !torch.vtensor<[3],f32>) -> (!fxc.token, !torch.vtensor<[3],f32>)
  return %t2, %r : !fxc.token, !torch.vtensor<[3],f32>
}

// CHECK-LABEL: func.func @out_dtype(
// CHECK: "fxc.out_dtype"(%arg0, %arg1) {op = "aten.mm.default", operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, out_dtype = si32} : (!torch.vtensor<[2,3],si8>, !torch.vtensor<[3,4],si8>) -> !torch.vtensor<[2,4],si32>
// CHECK: "fxc.out_dtype"(%arg0, %{{.*}}) {op = "aten.mul.Scalar", {{.*}}out_dtype = si32} : (!torch.vtensor<[2,3],si8>, !torch.float) -> !torch.vtensor<[2,3],si32>
func.func @out_dtype(%a: !torch.vtensor<[2,3],si8>, %b: !torch.vtensor<[3,4],si8>) -> (!torch.vtensor<[2,4],si32>, !torch.vtensor<[2,3],si32>) {
  %0 = "fxc.out_dtype"(%a, %b) {op = "aten.mm.default", operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, out_dtype = si32} : (!torch.vtensor<[2,3],si8>, !torch.vtensor<[3,4],si8>) -> !torch.vtensor<[2,4],si32>
  %f = torch.constant.float 3.0
  %1 = "fxc.out_dtype"(%a, %f) {op = "aten.mul.Scalar", operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, out_dtype = si32} : (!torch.vtensor<[2,3],si8>, !torch.float) -> !torch.vtensor<[2,3],si32>
  return %0, %1 : !torch.vtensor<[2,4],si32>, !torch.vtensor<[2,3],si32>
}
