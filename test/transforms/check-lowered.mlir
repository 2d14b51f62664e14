// RUN: not fxc-opt %s --split-input-file --fxc-check-lowered 2>%t.err | FileCheck %s
// RUN: FileCheck %s --check-prefix=ERR --input-file=%t.err

// Fully lowered IR passes unchanged.
// CHECK-LABEL: func.func @lowered
// CHECK: arith.addf
func.func @lowered(%a: f32) -> f32 {
  %0 = arith.addf %a, %a : f32
  return %0 : f32
}

// -----

// A torch op left behind is named, at the user's line.
// ERR: user.py:42: error: fxc cannot lower 'torch.aten.fft_fft' to linalg: no conversion for this op
func.func @leftover(%a: !torch.vtensor<[4],f32>) -> !torch.vtensor<[4],complex<f32>> {
  %none = torch.constant.none
  %int-1 = torch.constant.int -1
  %0 = torch.aten.fft_fft %a, %none, %int-1, %none : !torch.vtensor<[4],f32>, !torch.none, !torch.int, !torch.none -> !torch.vtensor<[4],complex<f32>> loc(callsite("user.py":42:0 at "main.py":7:0))
  return %0 : !torch.vtensor<[4],complex<f32>>
}
