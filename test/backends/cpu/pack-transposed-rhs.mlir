// RUN: fxc-opt %s --pass-pipeline='builtin.module(fxc-pack-transposed-rhs)' | FileCheck %s
// RUN: fxc-opt %s --pass-pipeline='builtin.module(fxc-pack-transposed-rhs{parallel=true})' | FileCheck %s --check-prefix=PAR

// A Linear layer as bufferization leaves it: the weight [N, K] transposed
// into a fresh [K, N] buffer, then x @ W^T.  Instead, each of the 4 panels
// of 256 columns transposes its [256, 256] blocks of W (2 along K) into a
// panel buffer, and the matmul of all 64 rows of x by that panel accumulates
// into the panel's columns of the result.  The [512, 1024] copy is gone.
// CHECK-LABEL: func.func @linear(
// CHECK-SAME:    %[[X:.*]]: memref<64x512xf32>, %[[W:.*]]: memref<1024x512xf32>, %[[Y:.*]]: memref<64x1024xf32>)
// CHECK-NOT:     memref<512x1024xf32>
// CHECK:         scf.for %[[J:.*]] = %c0 to %c4 step %c1 {
// CHECK:           %[[COL:.*]] = arith.muli %[[J]], %c256
// CHECK:           %[[PANEL:.*]] = memref.alloc() {alignment = 64 : i64} : memref<256x256xf32>
// CHECK:           scf.for %[[K:.*]] = %{{.*}} to %c2 step %{{.*}} {
// CHECK:             %[[ROW:.*]] = arith.muli %[[K]], %c256
// CHECK:             %[[WV:.*]] = memref.subview %[[W]][%[[COL]], %[[ROW]]] [256, 256] [1, 1]
// CHECK:             linalg.transpose ins(%[[WV]] : {{.*}}) outs(%[[PANEL]] : memref<256x256xf32>) permutation = [1, 0] {fxc.sequential}
// CHECK:             %[[XV:.*]] = memref.subview %[[X]][0, %[[ROW]]] [64, 256] [1, 1]
// CHECK:             %[[YV:.*]] = memref.subview %[[Y]][0, %[[COL]]] [64, 256] [1, 1]
// CHECK:             linalg.matmul {fxc.sequential} ins(%[[XV]], %[[PANEL]] : {{.*}}) outs(%[[YV]] : {{.*}})
// CHECK:           memref.dealloc %[[PANEL]]
// CHECK-NOT:     linalg.transpose
// CHECK:         return
// With threads, the panels are an scf.parallel loop.
// PAR-LABEL: func.func @linear(
// PAR:         scf.parallel (%{{.*}}) = (%c0) to (%c4) step (%c1) {
func.func @linear(%x: memref<64x512xf32>, %w: memref<1024x512xf32>, %y: memref<64x1024xf32>) {
  %zero = arith.constant 0.0 : f32
  %wt = memref.alloc() {alignment = 64 : i64} : memref<512x1024xf32>
  linalg.transpose ins(%w : memref<1024x512xf32>) outs(%wt : memref<512x1024xf32>) permutation = [1, 0]
  linalg.fill ins(%zero : f32) outs(%y : memref<64x1024xf32>)
  linalg.matmul ins(%x, %wt : memref<64x512xf32>, memref<512x1024xf32>) outs(%y : memref<64x1024xf32>)
  memref.dealloc %wt : memref<512x1024xf32>
  return
}

// N = 768: panels of 192 columns (4 of them, an even number for the
// threads; 3 of 256 would leave a thread idle) and K = 200 in one step.
// CHECK-LABEL: func.func @linear_768(
// CHECK:         scf.for %{{.*}} = %c0 to %c4 step %c1 {
// CHECK:           memref.alloc() {alignment = 64 : i64} : memref<200x192xf32>
// CHECK:           scf.for %{{.*}} = %{{.*}} to %c1{{.*}} step %{{.*}} {
func.func @linear_768(%x: memref<32x200xf32>, %w: memref<768x200xf32>, %y: memref<32x768xf32>) {
  %wt = memref.alloc() : memref<200x768xf32>
  linalg.transpose ins(%w : memref<768x200xf32>) outs(%wt : memref<200x768xf32>) permutation = [1, 0]
  linalg.matmul ins(%x, %wt : memref<32x200xf32>, memref<200x768xf32>) outs(%y : memref<32x768xf32>)
  memref.dealloc %wt : memref<200x768xf32>
  return
}

// Left alone: a weight the function writes (after the transpose, the copy
// holds its old values), a copy something else reads, and a narrow N (10
// columns: the whole transpose is small).
// CHECK-LABEL: func.func @written_weight(
// CHECK:         linalg.transpose
// CHECK:         linalg.matmul
func.func @written_weight(%x: memref<64x512xf32>, %w: memref<1024x512xf32>, %y: memref<64x1024xf32>) {
  %one = arith.constant 1.0 : f32
  %wt = memref.alloc() : memref<512x1024xf32>
  linalg.transpose ins(%w : memref<1024x512xf32>) outs(%wt : memref<512x1024xf32>) permutation = [1, 0]
  linalg.fill ins(%one : f32) outs(%w : memref<1024x512xf32>)
  linalg.matmul ins(%x, %wt : memref<64x512xf32>, memref<512x1024xf32>) outs(%y : memref<64x1024xf32>)
  memref.dealloc %wt : memref<512x1024xf32>
  return
}

// CHECK-LABEL: func.func @copy_read_elsewhere(
// CHECK:         linalg.transpose
// CHECK:         linalg.matmul
// CHECK:         memref.copy
func.func @copy_read_elsewhere(%x: memref<64x512xf32>, %w: memref<1024x512xf32>, %y: memref<64x1024xf32>, %z: memref<512x1024xf32>) {
  %wt = memref.alloc() : memref<512x1024xf32>
  linalg.transpose ins(%w : memref<1024x512xf32>) outs(%wt : memref<512x1024xf32>) permutation = [1, 0]
  linalg.matmul ins(%x, %wt : memref<64x512xf32>, memref<512x1024xf32>) outs(%y : memref<64x1024xf32>)
  memref.copy %wt, %z : memref<512x1024xf32> to memref<512x1024xf32>
  memref.dealloc %wt : memref<512x1024xf32>
  return
}

// CHECK-LABEL: func.func @narrow(
// CHECK:         linalg.transpose
// CHECK:         linalg.matmul
func.func @narrow(%x: memref<64x1024xf32>, %w: memref<10x1024xf32>, %y: memref<64x10xf32>) {
  %wt = memref.alloc() : memref<1024x10xf32>
  linalg.transpose ins(%w : memref<10x1024xf32>) outs(%wt : memref<1024x10xf32>) permutation = [1, 0]
  linalg.matmul ins(%x, %wt : memref<64x1024xf32>, memref<1024x10xf32>) outs(%y : memref<64x10xf32>)
  memref.dealloc %wt : memref<1024x10xf32>
  return
}
