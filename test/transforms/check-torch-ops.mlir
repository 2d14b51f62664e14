// RUN: not fxc-opt %s --fxc-check-torch-ops 2>&1 | FileCheck %s

// An ATen op with no torch-dialect definition is named at its line before
// any lowering runs.

// CHECK: check-torch-ops.mlir:[[@LINE+3]]: error: fxc cannot compile 'aten._pdist_forward': torch-mlir has no lowering for this op
func.func @main(%x: !torch.vtensor<[5,4],f32>) -> !torch.vtensor<[10],f32> {
  %p = torch.constant.float 2.0
  %0 = torch.operator "aten._pdist_forward"(%x, %p) : (!torch.vtensor<[5,4],f32>, !torch.float) -> !torch.vtensor<[10],f32>
  return %0 : !torch.vtensor<[10],f32>
}
