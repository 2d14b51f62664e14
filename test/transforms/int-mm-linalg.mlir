// RUN: fxc-opt %s --stage fxc --stage linalg | FileCheck %s

// aten._int_mm is what Inductor's decompositions make of
// out_dtype(aten.mm, int32) on int8 CUDA tensors.  It needs no fxc pass:
// torch-mlir lowers it to the same int8 x int8 -> int32 linalg.matmul that
// fxc-lower-out-dtype produces (see lower-out-dtype-linalg.mlir).

// CHECK-LABEL: func.func @int_mm(
// CHECK-SAME: %[[A:[a-z0-9]+]]: tensor<5x7xi8>, %[[B:[a-z0-9]+]]: tensor<7x3xi8>) -> tensor<5x3xi32>
// CHECK-NOT: arith.ext
// CHECK-NOT: {{tensor<5x7xi32>|tensor<7x3xi32>|tensor<[0-9x]*xi64>}}
// CHECK: %[[INIT:.*]] = linalg.fill ins(%{{.*}} : i32) outs(%{{.*}} : tensor<5x3xi32>)
// CHECK: %[[R:.*]] = linalg.matmul ins(%[[A]], %[[B]] : tensor<5x7xi8>, tensor<7x3xi8>) outs(%[[INIT]] : tensor<5x3xi32>) -> tensor<5x3xi32>
// CHECK-NOT: {{tensor<[0-9x]*xi64>}}
// CHECK: return %[[R]]
func.func @int_mm(%a: !torch.vtensor<[5,7],si8>, %b: !torch.vtensor<[7,3],si8>) -> !torch.vtensor<[5,3],si32> {
  %0 = torch.aten._int_mm %a, %b : !torch.vtensor<[5,7],si8>, !torch.vtensor<[7,3],si8> -> !torch.vtensor<[5,3],si32>
  return %0 : !torch.vtensor<[5,3],si32>
}
