// RUN: fxc-opt %s --pass-pipeline='builtin.module(fxc-math-polynomial-approximation)' | FileCheck %s

// f32 exp: Cephes' range reduction and polynomial, 2^n in two halves; the
// vector form stays a vector (no libm call per lane).
// CHECK-LABEL: func.func @exp_vector(
// CHECK-NOT:     math.exp
// CHECK:         math.floor %{{.*}} : vector<16xf32>
// CHECK-COUNT-6: math.fma %{{.*}} : vector<16xf32>
// CHECK:         arith.shli %{{.*}} : vector<16xi32>
// CHECK:         arith.bitcast %{{.*}} : vector<16xi32> to vector<16xf32>
// CHECK:         arith.cmpf uno
func.func @exp_vector(%x: vector<16xf32>) -> vector<16xf32> {
  %r = math.exp %x : vector<16xf32>
  return %r : vector<16xf32>
}

// CHECK-LABEL: func.func @log_scalar(
// CHECK-NOT:     math.log
// CHECK:         arith.bitcast %{{.*}} : f32 to i32
// CHECK-COUNT-8: math.fma
// CHECK:         arith.cmpf oeq
func.func @log_scalar(%x: f32) -> f32 {
  %r = math.log %x : f32
  return %r : f32
}

// tanh and erf: odd rational functions of a clamped input.
// CHECK-LABEL: func.func @tanh_erf(
// CHECK-NOT:     math.tanh
// CHECK-NOT:     math.erf
// CHECK:         arith.maxnumf
// CHECK:         arith.minnumf
// CHECK:         arith.divf %{{.*}} : vector<8xf32>
// CHECK:         math.absf
// CHECK:         arith.divf %{{.*}} : vector<8xf32>
func.func @tanh_erf(%x: vector<8xf32>) -> (vector<8xf32>, vector<8xf32>) {
  %t = math.tanh %x : vector<8xf32>
  %e = math.erf %x : vector<8xf32>
  return %t, %e : vector<8xf32>, vector<8xf32>
}

// Other element types are left for convert-math-to-llvm / libm.
// CHECK-LABEL: func.func @f64_left(
// CHECK:         math.exp %{{.*}} : f64
// CHECK:         math.sin %{{.*}} : f32
func.func @f64_left(%x: f64, %y: f32) -> (f64, f32) {
  %r = math.exp %x : f64
  %s = math.sin %y : f32
  return %r, %s : f64, f32
}

// A 0-d vector (what a one-element softmax vectorizes to): its integer and
// mask values are 0-d vectors too.
// CHECK-LABEL: func.func @exp_0d(
// CHECK-NOT:   math.exp
// CHECK:       arith.fptosi %{{.*}} : vector<f32> to vector<i32>
func.func @exp_0d(%x: vector<f32>) -> vector<f32> {
  %e = math.exp %x : vector<f32>
  return %e : vector<f32>
}
