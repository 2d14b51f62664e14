// RUN: fxc-opt %s --fxc-expand-f64-to-half | FileCheck %s

// f64 -> f16/bf16 truncates through f32, as PyTorch's casts do (the JIT has
// no __truncdfhf2 / __truncdfbf2); other truncations are left alone.

// CHECK-LABEL: func.func @to_f16(
// CHECK-NEXT: %[[N:.*]] = arith.truncf %arg0 : f64 to f32
// CHECK-NEXT: %[[R:.*]] = arith.truncf %[[N]] : f32 to f16
// CHECK-NEXT: return %[[R]]
func.func @to_f16(%x: f64) -> f16 {
  %0 = arith.truncf %x : f64 to f16
  return %0 : f16
}

// CHECK-LABEL: func.func @to_bf16(
// CHECK: arith.truncf %{{.*}} : f32 to bf16
// CHECK-NOT: f64 to bf16
func.func @to_bf16(%x: f64) -> bf16 {
  %0 = arith.truncf %x : f64 to bf16
  return %0 : bf16
}

// CHECK-LABEL: func.func @f32_to_f16(
// CHECK-NEXT: arith.truncf %arg0 : f32 to f16
// CHECK-NEXT: return
func.func @f32_to_f16(%x: f32) -> f16 {
  %0 = arith.truncf %x : f32 to f16
  return %0 : f16
}
