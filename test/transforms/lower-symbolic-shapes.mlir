// RUN: fxc-opt %s --fxc-lower-symbolic-shapes | FileCheck %s

// Size symbols leave the IR; what they said stays on the entry function: each
// argument's symbolic sizes (fxc.shape) and the symbols' ranges (fxc.symbols).

// CHECK-LABEL: func.func @main(
// CHECK-SAME: %arg0: !torch.vtensor<[?,16],f32> {fxc.shape = ["s77", 16]}
// CHECK-SAME: %arg1: !torch.vtensor<[?],f32> {fxc.shape = ["s77 * 2"]}
// CHECK-SAME: attributes {fxc.symbols = {s77 = [1, 64]}}
// CHECK-NOT: torch.symbolic_int
// CHECK-NOT: torch.bind_symbolic_shape
// CHECK: torch.aten.add.Tensor
func.func @main(%arg0: !torch.vtensor<[?,16],f32>, %arg1: !torch.vtensor<[?],f32>) -> !torch.vtensor<[?],f32> {
  %0 = torch.symbolic_int "s77" {min_val = 1, max_val = 64} : !torch.int
  torch.bind_symbolic_shape %arg0, [%0], affine_map<()[s0] -> (s0, 16)> : !torch.vtensor<[?,16],f32>
  torch.bind_symbolic_shape %arg1, [%0], affine_map<()[s0] -> (s0 * 2)> : !torch.vtensor<[?],f32>
  %int1 = torch.constant.int 1
  %1 = torch.aten.add.Tensor %arg1, %arg1, %int1 : !torch.vtensor<[?],f32>, !torch.vtensor<[?],f32>, !torch.int -> !torch.vtensor<[?],f32>
  torch.bind_symbolic_shape %1, [%0], affine_map<()[s0] -> (s0 * 2)> : !torch.vtensor<[?],f32>
  return %1 : !torch.vtensor<[?],f32>
}
