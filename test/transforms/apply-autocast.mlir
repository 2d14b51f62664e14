// RUN: fxc-opt --pass-pipeline='builtin.module(fxc-apply-autocast)' %s | FileCheck %s

// Lower-precision list: floating operands cast to the region's dtype, one
// cast per (value, dtype) per region (the weight %w is cast once).
// CHECK-LABEL: func.func @lower
// CHECK-NOT: fxc.autocast
// CHECK-COUNT-2: torch.prims.convert_element_type
// CHECK-NOT: torch.prims.convert_element_type
// CHECK: torch.aten.mm {{.*}} -> !torch.vtensor<[4,4],bf16>
// CHECK: torch.aten.mm {{.*}} -> !torch.vtensor<[4,4],bf16>
func.func @lower(%x: !torch.vtensor<[4,4],f32>, %w: !torch.vtensor<[4,4],f32>) -> !torch.vtensor<[4,4],bf16> {
  %s = "fxc.autocast_enter"() {device = "cpu", dtype = bf16, enabled = true, cache_enabled = true} : () -> !fxc.autocast_scope
  %0 = torch.aten.mm %x, %w : !torch.vtensor<[4,4],f32>, !torch.vtensor<[4,4],f32> -> !torch.vtensor<[4,4],bf16>
  %1 = torch.aten.mm %0, %w : !torch.vtensor<[4,4],bf16>, !torch.vtensor<[4,4],f32> -> !torch.vtensor<[4,4],bf16>
  "fxc.autocast_exit"(%s) : (!fxc.autocast_scope) -> ()
  return %1 : !torch.vtensor<[4,4],bf16>
}

// fp32 list: bf16 operands to float32; float64 operands stay as they are.
// CHECK-LABEL: func.func @fp32
// CHECK: %[[A:.*]] = torch.prims.convert_element_type %arg0, %{{.*}} -> !torch.vtensor<[4],f32>
// CHECK-NOT: torch.prims.convert_element_type %arg1
// CHECK: torch.aten.mse_loss %[[A]], %arg1
func.func @fp32(%a: !torch.vtensor<[4],bf16>, %b: !torch.vtensor<[4],f64>) -> !torch.vtensor<[],f64> {
  %int1 = torch.constant.int 1
  %s = "fxc.autocast_enter"() {device = "cpu", dtype = bf16, enabled = true, cache_enabled = true} : () -> !fxc.autocast_scope
  %0 = torch.aten.mse_loss %a, %b, %int1 : !torch.vtensor<[4],bf16>, !torch.vtensor<[4],f64>, !torch.int -> !torch.vtensor<[],f64>
  "fxc.autocast_exit"(%s) : (!fxc.autocast_scope) -> ()
  return %0 : !torch.vtensor<[],f64>
}

// Promote list: list elements cast to the widest floating type.
// CHECK-LABEL: func.func @promote
// CHECK: %[[C:.*]] = torch.prims.convert_element_type %arg0, %{{.*}} -> !torch.vtensor<[2],f32>
// CHECK: %[[L:.*]] = torch.prim.ListConstruct %[[C]], %arg1
// CHECK: torch.aten.cat %[[L]]
func.func @promote(%a: !torch.vtensor<[2],bf16>, %b: !torch.vtensor<[2],f32>) -> !torch.vtensor<[4],f32> {
  %int0 = torch.constant.int 0
  %s = "fxc.autocast_enter"() {device = "cpu", dtype = bf16, enabled = true, cache_enabled = true} : () -> !fxc.autocast_scope
  %l = torch.prim.ListConstruct %a, %b : (!torch.vtensor<[2],bf16>, !torch.vtensor<[2],f32>) -> !torch.list<vtensor>
  %0 = torch.aten.cat %l, %int0 : !torch.list<vtensor>, !torch.int -> !torch.vtensor<[4],f32>
  "fxc.autocast_exit"(%s) : (!fxc.autocast_scope) -> ()
  return %0 : !torch.vtensor<[4],f32>
}

// A disabled region inside an enabled one: nothing cast inside it.
// CHECK-LABEL: func.func @disabled
// CHECK-NOT: torch.prims.convert_element_type
// CHECK: torch.aten.mm %arg0, %arg1
func.func @disabled(%x: !torch.vtensor<[4,4],f32>, %w: !torch.vtensor<[4,4],f32>) -> !torch.vtensor<[4,4],f32> {
  %s = "fxc.autocast_enter"() {device = "cpu", dtype = bf16, enabled = true, cache_enabled = true} : () -> !fxc.autocast_scope
  %t = "fxc.autocast_enter"() {device = "cpu", dtype = bf16, enabled = false, cache_enabled = true} : () -> !fxc.autocast_scope
  %0 = torch.aten.mm %x, %w : !torch.vtensor<[4,4],f32>, !torch.vtensor<[4,4],f32> -> !torch.vtensor<[4,4],f32>
  "fxc.autocast_exit"(%t) : (!fxc.autocast_scope) -> ()
  "fxc.autocast_exit"(%s) : (!fxc.autocast_scope) -> ()
  return %0 : !torch.vtensor<[4,4],f32>
}

// Ops outside every region are left alone.
// CHECK-LABEL: func.func @outside
// CHECK-NOT: torch.prims.convert_element_type
func.func @outside(%x: !torch.vtensor<[4,4],f32>) -> !torch.vtensor<[4,4],f32> {
  %0 = torch.aten.mm %x, %x : !torch.vtensor<[4,4],f32>, !torch.vtensor<[4,4],f32> -> !torch.vtensor<[4,4],f32>
  return %0 : !torch.vtensor<[4,4],f32>
}

// Frozen weights (freeze=True): a cast of a literal folds into a new literal,
// once per region (seed test_jit_freeze_autocast_constants: one cast left,
// the input's).  Both literal forms fold: dense_resource and dense.
// CHECK-LABEL: func.func @frozen
// CHECK-DAG: %[[R:.*]] = torch.vtensor.literal(dense<{{\[\[}}1.000000e+00, 2.000000e+00, 1.000000e+00, 2.000000e+00], {{.*}}> : tensor<2x4xbf16>) : !torch.vtensor<[2,4],bf16>
// CHECK-DAG: %[[D:.*]] = torch.vtensor.literal(dense<5.000000e-01> : tensor<2x4xbf16>) : !torch.vtensor<[2,4],bf16>
// CHECK-DAG: %[[Y:.*]] = torch.prims.convert_element_type %arg0, %{{.*}} -> !torch.vtensor<[4,2],bf16>
// CHECK: torch.aten.mm %[[R]], %[[Y]]
// CHECK: torch.aten.mm %[[R]], %[[Y]]
// CHECK: torch.aten.mm %[[D]], %[[Y]]
// CHECK-NOT: torch.prims.convert_element_type
// CHECK: return
func.func @frozen(%y: !torch.vtensor<[4,2],f32>) -> (!torch.vtensor<[2,2],bf16>, !torch.vtensor<[2,2],bf16>, !torch.vtensor<[2,2],bf16>) {
  %w = torch.vtensor.literal(dense_resource<frozen_w> : tensor<2x4xf32>) : !torch.vtensor<[2,4],f32>
  %d = torch.vtensor.literal(dense<5.000000e-01> : tensor<2x4xf32>) : !torch.vtensor<[2,4],f32>
  %s = "fxc.autocast_enter"() {device = "cpu", dtype = bf16, enabled = true, cache_enabled = true} : () -> !fxc.autocast_scope
  %0 = torch.aten.mm %w, %y : !torch.vtensor<[2,4],f32>, !torch.vtensor<[4,2],f32> -> !torch.vtensor<[2,2],bf16>
  %1 = torch.aten.mm %w, %y : !torch.vtensor<[2,4],f32>, !torch.vtensor<[4,2],f32> -> !torch.vtensor<[2,2],bf16>
  %2 = torch.aten.mm %d, %y : !torch.vtensor<[2,4],f32>, !torch.vtensor<[4,2],f32> -> !torch.vtensor<[2,2],bf16>
  "fxc.autocast_exit"(%s) : (!fxc.autocast_scope) -> ()
  return %0, %1, %2 : !torch.vtensor<[2,2],bf16>, !torch.vtensor<[2,2],bf16>, !torch.vtensor<[2,2],bf16>
}

{-#
  dialect_resources: {
    builtin: {
      frozen_w: "0x040000000000803F000000400000803F000000400000803F000000400000803F00000040"
    }
  }
#-}
