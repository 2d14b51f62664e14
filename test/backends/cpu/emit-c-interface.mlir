// RUN: fxc-opt %s --fxc-emit-c-interface | FileCheck %s

// CHECK: func.func private @decl() attributes {fxc.op = "aten._print.default"}
func.func private @decl() attributes {fxc.op = "aten._print.default"}
// CHECK: func.func @main() attributes {llvm.emit_c_interface}
func.func @main() {
  return
}
