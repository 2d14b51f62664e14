// RUN: fxc-opt %s --fxc-torch-batch-unbatched-pools | FileCheck %s

// An average pool of an unbatched input runs on it unsqueezed at dimension 0
// and squeezes its result; batched inputs are left alone.

// CHECK-LABEL: func.func @unbatched_3d(
// CHECK: %[[U:.*]] = torch.aten.unsqueeze %arg0, %[[Z:.*]] : !torch.vtensor<[8,8,8,8],f32>, !torch.int -> !torch.vtensor<[1,8,8,8,8],f32>
// CHECK: %[[P:.*]] = torch.aten.avg_pool3d %[[U]], {{.*}} -> !torch.vtensor<[1,8,6,6,6],f32>
// CHECK: %[[S:.*]] = torch.aten.squeeze.dim %[[P]], %[[Z]] : !torch.vtensor<[1,8,6,6,6],f32>, !torch.int -> !torch.vtensor<[8,6,6,6],f32>
// CHECK: return %[[S]]
func.func @unbatched_3d(%x: !torch.vtensor<[8,8,8,8],f32>) -> !torch.vtensor<[8,6,6,6],f32> {
  %none = torch.constant.none
  %true = torch.constant.bool true
  %false = torch.constant.bool false
  %int0 = torch.constant.int 0
  %int1 = torch.constant.int 1
  %int3 = torch.constant.int 3
  %k = torch.prim.ListConstruct %int3, %int3, %int3 : (!torch.int, !torch.int, !torch.int) -> !torch.list<int>
  %s = torch.prim.ListConstruct %int1, %int1, %int1 : (!torch.int, !torch.int, !torch.int) -> !torch.list<int>
  %p = torch.prim.ListConstruct %int0, %int0, %int0 : (!torch.int, !torch.int, !torch.int) -> !torch.list<int>
  %0 = torch.aten.avg_pool3d %x, %k, %s, %p, %false, %true, %none : !torch.vtensor<[8,8,8,8],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.bool, !torch.bool, !torch.none -> !torch.vtensor<[8,6,6,6],f32>
  return %0 : !torch.vtensor<[8,6,6,6],f32>
}

// CHECK-LABEL: func.func @unbatched_2d(
// CHECK: torch.aten.unsqueeze %arg0, {{.*}} -> !torch.vtensor<[1,8,8,8],f32>
// CHECK: torch.aten.avg_pool2d {{.*}} -> !torch.vtensor<[1,8,6,6],f32>
// CHECK: torch.aten.squeeze.dim {{.*}} -> !torch.vtensor<[8,6,6],f32>
func.func @unbatched_2d(%x: !torch.vtensor<[8,8,8],f32>) -> !torch.vtensor<[8,6,6],f32> {
  %none = torch.constant.none
  %true = torch.constant.bool true
  %false = torch.constant.bool false
  %int0 = torch.constant.int 0
  %int1 = torch.constant.int 1
  %int3 = torch.constant.int 3
  %k = torch.prim.ListConstruct %int3, %int3 : (!torch.int, !torch.int) -> !torch.list<int>
  %s = torch.prim.ListConstruct %int1, %int1 : (!torch.int, !torch.int) -> !torch.list<int>
  %p = torch.prim.ListConstruct %int0, %int0 : (!torch.int, !torch.int) -> !torch.list<int>
  %0 = torch.aten.avg_pool2d %x, %k, %s, %p, %false, %true, %none : !torch.vtensor<[8,8,8],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.bool, !torch.bool, !torch.none -> !torch.vtensor<[8,6,6],f32>
  return %0 : !torch.vtensor<[8,6,6],f32>
}

// CHECK-LABEL: func.func @batched(
// CHECK-NOT: torch.aten.unsqueeze
// CHECK: torch.aten.avg_pool2d %arg0
func.func @batched(%x: !torch.vtensor<[2,8,8,8],f32>) -> !torch.vtensor<[2,8,6,6],f32> {
  %none = torch.constant.none
  %true = torch.constant.bool true
  %false = torch.constant.bool false
  %int0 = torch.constant.int 0
  %int1 = torch.constant.int 1
  %int3 = torch.constant.int 3
  %k = torch.prim.ListConstruct %int3, %int3 : (!torch.int, !torch.int) -> !torch.list<int>
  %s = torch.prim.ListConstruct %int1, %int1 : (!torch.int, !torch.int) -> !torch.list<int>
  %p = torch.prim.ListConstruct %int0, %int0 : (!torch.int, !torch.int) -> !torch.list<int>
  %0 = torch.aten.avg_pool2d %x, %k, %s, %p, %false, %true, %none : !torch.vtensor<[2,8,8,8],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.bool, !torch.bool, !torch.none -> !torch.vtensor<[2,8,6,6],f32>
  return %0 : !torch.vtensor<[2,8,6,6],f32>
}
