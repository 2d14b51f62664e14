// RUN: fxc-opt %s --stage fxc --stage linalg | FileCheck %s
// RUN: fxc-opt %s --stage fxc --stage linalg --stage bufferized --stage llvm | FileCheck %s --check-prefix=LLVM

// fxc-opt runs stages from the same table as the compiler: a torch-stage
// module goes to linalg (the effect becomes an ordered host call, the int8
// out_dtype matmul one mixed-precision linalg.matmul) and on to LLVM.

// CHECK: func.func private @fxc_host_0() attributes {fxc.args = [{value = "moo"}], fxc.dtypes = [], fxc.op = "aten._print.default", llvm.emit_c_interface}
// CHECK-LABEL: func.func @main(
// CHECK-SAME: %[[X:.*]]: tensor<4x8xi8>, %[[W:.*]]: tensor<8x2xi8>) -> tensor<4x2xi32>
// CHECK-NOT: arith.extsi
// CHECK: call @fxc_host_0() : () -> ()
// CHECK: linalg.matmul ins(%[[X]], %[[W]] : tensor<4x8xi8>, tensor<8x2xi8>) outs(%{{.*}} : tensor<4x2xi32>) -> tensor<4x2xi32>
// CHECK-NOT: i64

// LLVM-DAG: llvm.func @_mlir_ciface_fxc_host_0() attributes {{{.*}}fxc.op = "aten._print.default"
// LLVM-DAG: llvm.func @_mlir_ciface_main(
// LLVM-NOT: func.func
func.func @main(%arg0: !fxc.token, %arg1: !torch.vtensor<[4,8],si8>, %arg2: !torch.vtensor<[8,2],si8>) -> (!fxc.token, !torch.vtensor<[4,2],si32>) {
  %str = torch.constant.str "moo"
  %0 = "fxc.with_effects"(%arg0, %str) {op = "aten._print.default", operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0, 0>} : (!fxc.token, !torch.str) -> !fxc.token
  %1 = "fxc.out_dtype"(%arg1, %arg2) {op = "aten.mm.default", operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, out_dtype = si32} : (!torch.vtensor<[4,8],si8>, !torch.vtensor<[8,2],si8>) -> !torch.vtensor<[4,2],si32>
  return %0, %1 : !fxc.token, !torch.vtensor<[4,2],si32>
}
