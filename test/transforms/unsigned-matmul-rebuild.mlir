// RUN: fxc-opt %s --pass-pipeline='builtin.module(func.func(convert-torch-to-linalg), fxc-unsigned-matmul-rebuild, func.func(linalg-generalize-named-ops))' | FileCheck %s
// RUN: fxc-opt %s --pass-pipeline='builtin.module(func.func(convert-torch-to-linalg), func.func(linalg-generalize-named-ops))' | FileCheck %s --check-prefix=TORCH-MLIR

// torch-mlir converts a uint8 aten.mm into linalg.matmul {cast = cast_unsigned}
// whose region sign-extends (the second RUN line shows it: generalizing the
// op exposes its region).  fxc-unsigned-matmul-rebuild rebuilds the op so its
// region zero-extends, as its attribute says.  If the second RUN line starts
// failing, torch-mlir has fixed this and the pass can go.

// CHECK-LABEL: func.func @mm_u8(
// CHECK: linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<5x7xi8>, tensor<7x3xi8>) outs(%{{.*}} : tensor<{{.*}}xi32>)
// CHECK-NEXT: ^bb0(%[[L:.*]]: i8, %[[R:.*]]: i8, %[[ACC:.*]]: i32):
// CHECK-NEXT: %[[LE:.*]] = arith.extui %[[L]] : i8 to i32
// CHECK-NEXT: %[[RE:.*]] = arith.extui %[[R]] : i8 to i32
// CHECK-NEXT: %[[P:.*]] = arith.muli %[[LE]], %[[RE]] : i32
// CHECK-NEXT: %[[S:.*]] = arith.addi %[[ACC]], %[[P]] : i32
// CHECK-NEXT: linalg.yield %[[S]] : i32

// TORCH-MLIR-LABEL: func.func @mm_u8(
// TORCH-MLIR: arith.extsi %{{.*}} : i8 to i32
// TORCH-MLIR: arith.extsi %{{.*}} : i8 to i32
func.func @mm_u8(%a: !torch.vtensor<[5,7],ui8>, %b: !torch.vtensor<[7,3],ui8>) -> !torch.vtensor<[5,3],si32> {
  %0 = torch.aten.mm %a, %b : !torch.vtensor<[5,7],ui8>, !torch.vtensor<[7,3],ui8> -> !torch.vtensor<[5,3],si32>
  return %0 : !torch.vtensor<[5,3],si32>
}

// A signed matmul is left alone.
// CHECK-LABEL: func.func @mm_i8(
// CHECK: arith.extsi %{{.*}} : i8 to i32
// CHECK-NEXT: arith.extsi %{{.*}} : i8 to i32
func.func @mm_i8(%a: !torch.vtensor<[5,7],si8>, %b: !torch.vtensor<[7,3],si8>) -> !torch.vtensor<[5,3],si32> {
  %0 = torch.aten.mm %a, %b : !torch.vtensor<[5,7],si8>, !torch.vtensor<[7,3],si8> -> !torch.vtensor<[5,3],si32>
  return %0 : !torch.vtensor<[5,3],si32>
}
