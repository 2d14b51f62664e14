// RUN: fxc-opt %s --fxc-torch-widen-half-reductions | FileCheck %s

// Half-precision sums and means accumulate in float32 and round once, as
// eager's do; an explicit dtype and float32 reductions are left alone.

// CHECK-LABEL: func.func @mean_f16(
// CHECK: %[[W:.*]] = torch.aten.to.dtype %arg0, %{{.*}} -> !torch.vtensor<[2,4],f32>
// CHECK: %[[M:.*]] = torch.aten.mean.dim %[[W]], %{{.*}}, %{{.*}}, %{{.*}} : !torch.vtensor<[2,4],f32>, {{.*}} -> !torch.vtensor<[2],f32>
// CHECK: %[[R:.*]] = torch.aten.to.dtype %[[M]], %{{.*}} -> !torch.vtensor<[2],f16>
// CHECK: return %[[R]]
func.func @mean_f16(%x: !torch.vtensor<[2,4],f16>) -> !torch.vtensor<[2],f16> {
  %int-1 = torch.constant.int -1
  %dims = torch.prim.ListConstruct %int-1 : (!torch.int) -> !torch.list<int>
  %false = torch.constant.bool false
  %none = torch.constant.none
  %0 = torch.aten.mean.dim %x, %dims, %false, %none : !torch.vtensor<[2,4],f16>, !torch.list<int>, !torch.bool, !torch.none -> !torch.vtensor<[2],f16>
  return %0 : !torch.vtensor<[2],f16>
}

// CHECK-LABEL: func.func @sum_bf16(
// CHECK: torch.aten.sum %{{.*}}, %{{.*}} : !torch.vtensor<[2,4],f32>, !torch.none -> !torch.vtensor<[],f32>
// CHECK: torch.aten.to.dtype %{{.*}} -> !torch.vtensor<[],bf16>
func.func @sum_bf16(%x: !torch.vtensor<[2,4],bf16>) -> !torch.vtensor<[],bf16> {
  %none = torch.constant.none
  %0 = torch.aten.sum %x, %none : !torch.vtensor<[2,4],bf16>, !torch.none -> !torch.vtensor<[],bf16>
  return %0 : !torch.vtensor<[],bf16>
}

// CHECK-LABEL: func.func @f32(
// CHECK-NOT: torch.aten.to.dtype
func.func @f32(%x: !torch.vtensor<[2,4],f32>) -> !torch.vtensor<[],f32> {
  %none = torch.constant.none
  %0 = torch.aten.sum %x, %none : !torch.vtensor<[2,4],f32>, !torch.none -> !torch.vtensor<[],f32>
  return %0 : !torch.vtensor<[],f32>
}
