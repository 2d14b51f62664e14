// RUN: fxc-opt %s --fxc-convert-float-scalars-to-arith | FileCheck %s

// Python's ==, >, >=, < on floats are false when an operand is NaN, != is
// true: ordered predicates, une for ne (torch-mlir's own conversion uses
// ueq/ugt/uge, and has none for lt).

// CHECK-LABEL: func.func @eq(
// CHECK: %[[A:.*]] = torch_c.to_f64 %arg0
// CHECK: %[[B:.*]] = torch_c.to_f64 %arg1
// CHECK: %[[C:.*]] = arith.cmpf oeq, %[[A]], %[[B]] : f64
// CHECK: %[[R:.*]] = torch_c.from_i1 %[[C]]
// CHECK: return %[[R]]
func.func @eq(%a: !torch.float, %b: !torch.float) -> !torch.bool {
  %0 = torch.aten.eq.float %a, %b : !torch.float, !torch.float -> !torch.bool
  return %0 : !torch.bool
}

// CHECK-LABEL: func.func @gt_ge_lt(
// CHECK: arith.cmpf ogt
// CHECK: arith.cmpf oge
// CHECK: arith.cmpf olt
// CHECK-NOT: torch.aten
func.func @gt_ge_lt(%a: !torch.float, %b: !torch.float) -> (!torch.bool, !torch.bool, !torch.bool) {
  %0 = torch.aten.gt.float %a, %b : !torch.float, !torch.float -> !torch.bool
  %1 = torch.aten.ge.float %a, %b : !torch.float, !torch.float -> !torch.bool
  %2 = torch.aten.lt.float %a, %b : !torch.float, !torch.float -> !torch.bool
  return %0, %1, %2 : !torch.bool, !torch.bool, !torch.bool
}

// CHECK-LABEL: func.func @float_int(
// CHECK: %[[A:.*]] = torch_c.to_f64 %arg0
// CHECK: %[[I:.*]] = torch_c.to_i64 %arg1
// CHECK: %[[B:.*]] = arith.sitofp %[[I]] : i64 to f64
// CHECK: arith.cmpf une, %[[A]], %[[B]] : f64
func.func @float_int(%a: !torch.float, %b: !torch.int) -> !torch.bool {
  %0 = torch.aten.ne.float_int %a, %b : !torch.float, !torch.int -> !torch.bool
  return %0 : !torch.bool
}

// CHECK-LABEL: func.func @ints_untouched(
// CHECK: torch.aten.eq.int
func.func @ints_untouched(%a: !torch.int, %b: !torch.int) -> !torch.bool {
  %0 = torch.aten.eq.int %a, %b : !torch.int, !torch.int -> !torch.bool
  return %0 : !torch.bool
}

// int(x) rounds toward zero: fptosi.
// CHECK-LABEL: func.func @int_of_float(
// CHECK: %[[A:.*]] = torch_c.to_f64 %arg0
// CHECK: %[[I:.*]] = arith.fptosi %[[A]] : f64 to i64
// CHECK: %[[R:.*]] = torch_c.from_i64 %[[I]]
// CHECK: return %[[R]]
func.func @int_of_float(%a: !torch.float) -> !torch.int {
  %0 = torch.aten.Int.float %a : !torch.float -> !torch.int
  return %0 : !torch.int
}
