// RUN: fxc-opt %s --fxc-indirect-host-calls | FileCheck %s

// A host-call declaration gets a function-pointer global the loader fills;
// calls load it and call indirectly, so the shared object has no undefined
// host-call symbol.  The declaration stays as the record of the host call.

// CHECK: llvm.mlir.global external @_mlir_ciface_fxc_host_0_fn() {{.*}} : !llvm.ptr
// CHECK-NEXT: llvm.mlir.zero : !llvm.ptr
// CHECK: llvm.func @_mlir_ciface_fxc_host_0(!llvm.ptr) attributes {fxc.op = "aten._print.default"}
// CHECK-LABEL: llvm.func @main(
// CHECK-NEXT: %[[SLOT:.*]] = llvm.mlir.addressof @_mlir_ciface_fxc_host_0_fn : !llvm.ptr
// CHECK-NEXT: %[[FN:.*]] = llvm.load %[[SLOT]] : !llvm.ptr -> !llvm.ptr
// CHECK-NEXT: llvm.call %[[FN]](%arg0) : !llvm.ptr, (!llvm.ptr) -> ()
// CHECK-NOT: llvm.call @_mlir_ciface_fxc_host_0
// Calls of other functions are left alone.
// CHECK: llvm.call @free(
llvm.func @free(!llvm.ptr)
llvm.func @_mlir_ciface_fxc_host_0(!llvm.ptr) attributes {fxc.op = "aten._print.default"}
llvm.func @main(%arg0: !llvm.ptr) {
  llvm.call @_mlir_ciface_fxc_host_0(%arg0) : (!llvm.ptr) -> ()
  llvm.call @free(%arg0) : (!llvm.ptr) -> ()
  llvm.return
}
