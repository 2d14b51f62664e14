// RUN: fxc-opt %s --fxc-convert-memref-copy-to-linalg | FileCheck %s

// Strided copies (which would call memrefCopy, absent from the wheel) become
// linalg.copy; contiguous ones stay memref.copy (lowered to memcpy).

// CHECK-LABEL: func.func @strided(
// CHECK: linalg.copy {{.*}}ins(%arg0 : memref<4x4xf32, strided<[1, 4]>>) outs(%arg1 : memref<4x4xf32>)
// CHECK-NOT: memref.copy
func.func @strided(%a: memref<4x4xf32, strided<[1, 4]>>, %b: memref<4x4xf32>) {
  memref.copy %a, %b : memref<4x4xf32, strided<[1, 4]>> to memref<4x4xf32>
  return
}

// CHECK-LABEL: func.func @contiguous(
// CHECK: memref.copy %arg0, %arg1 : memref<4x4xf32> to memref<4x4xf32>
// CHECK-NOT: linalg.copy
func.func @contiguous(%a: memref<4x4xf32>, %b: memref<4x4xf32>) {
  memref.copy %a, %b : memref<4x4xf32> to memref<4x4xf32>
  return
}
