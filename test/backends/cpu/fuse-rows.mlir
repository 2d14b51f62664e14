// RUN: fxc-opt %s --pass-pipeline='builtin.module(fxc-fuse-rows)' | FileCheck %s
// RUN: fxc-opt %s --pass-pipeline='builtin.module(fxc-fuse-rows{parallel=true})' | FileCheck %s --check-prefix=PAR

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0, 0)>

// Softmax as bufferization leaves it: a max over each row, a sum of
// exponentials, a division; the row buffers are allocated between the ops.
// All run in one loop over the 512 rows, each op on its row's views, so a
// row is read from memory once.  With parallel (512 x 256 elements), the
// loop is an scf.parallel.
// CHECK-LABEL: func.func @softmax(
// CHECK:         %[[MAX:.*]] = memref.alloc() : memref<512x1xf32>
// CHECK:         %[[SUM:.*]] = memref.alloc() : memref<512x1xf32>
// CHECK:         scf.for %[[R:.*]] = %c0 to %c512 step %c1 {
// CHECK:           %[[MAXR:.*]] = memref.subview %[[MAX]][%[[R]], 0] [1, 1] [1, 1]
// CHECK:           linalg.fill ins(%{{.*}} : f32) outs(%[[MAXR]] : memref<1x1xf32, strided<[1, 1], offset: ?>>)
// CHECK:           %[[XR:.*]] = memref.subview %{{.*}}[%[[R]], 0] [1, 256] [1, 1] : memref<512x256xf32> to memref<1x256xf32, strided<[256, 1], offset: ?>>
// CHECK:           linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%[[XR]] : {{.*}}) outs(%{{.*}} : memref<1x1xf32, {{.*}}>)
// CHECK:             arith.maximumf
// CHECK:           linalg.fill
// CHECK:           linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]}
// CHECK:             math.exp
// CHECK:           linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]} {{.*}} outs(%{{.*}} : memref<1x256xf32, strided<[256, 1], offset: ?>>)
// CHECK:             arith.divf
// CHECK:         memref.dealloc %[[MAX]]
// CHECK-NEXT:    memref.dealloc %[[SUM]]
// PAR-LABEL: func.func @softmax(
// PAR:         scf.parallel (%{{.*}}) = (%c0) to (%c512) step (%c1) {
// PAR-NOT:     scf.for
// PAR:           scf.reduce
func.func @softmax(%x: memref<512x256xf32>, %y: memref<512x256xf32>) {
  %ninf = arith.constant 0xFF800000 : f32
  %zero = arith.constant 0.0 : f32
  %max = memref.alloc() : memref<512x1xf32>
  linalg.fill ins(%ninf : f32) outs(%max : memref<512x1xf32>)
  linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]} ins(%x : memref<512x256xf32>) outs(%max : memref<512x1xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %m = arith.maximumf %in, %acc : f32
    linalg.yield %m : f32
  }
  %sum = memref.alloc() : memref<512x1xf32>
  linalg.fill ins(%zero : f32) outs(%sum : memref<512x1xf32>)
  linalg.generic {indexing_maps = [#id, #row, #row], iterator_types = ["parallel", "reduction"]} ins(%x, %max : memref<512x256xf32>, memref<512x1xf32>) outs(%sum : memref<512x1xf32>) {
  ^bb0(%in: f32, %m: f32, %acc: f32):
    %d = arith.subf %in, %m : f32
    %e = math.exp %d : f32
    %s = arith.addf %e, %acc : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#id, #row, #row, #id], iterator_types = ["parallel", "parallel"]} ins(%x, %max, %sum : memref<512x256xf32>, memref<512x1xf32>, memref<512x1xf32>) outs(%y : memref<512x256xf32>) {
  ^bb0(%in: f32, %m: f32, %s: f32, %out: f32):
    %d = arith.subf %in, %m : f32
    %e = math.exp %d : f32
    %q = arith.divf %e, %s : f32
    linalg.yield %q : f32
  }
  memref.dealloc %max : memref<512x1xf32>
  memref.dealloc %sum : memref<512x1xf32>
  return
}

// A sum over the rows (each column's total) needs every row before any
// consumer can read it: nothing is fused.
// CHECK-LABEL: func.func @column_sums(
// CHECK-NOT:     scf.for
// CHECK:         return
func.func @column_sums(%x: memref<64x32xf32>, %y: memref<64x32xf32>) {
  %zero = arith.constant 0.0 : f32
  %sum = memref.alloc() : memref<32xf32>
  linalg.fill ins(%zero : f32) outs(%sum : memref<32xf32>)
  linalg.generic {indexing_maps = [#id, affine_map<(d0, d1) -> (d1)>], iterator_types = ["reduction", "parallel"]} ins(%x : memref<64x32xf32>) outs(%sum : memref<32xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %s = arith.addf %in, %acc : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#id, affine_map<(d0, d1) -> (d1)>, #id], iterator_types = ["parallel", "parallel"]} ins(%x, %sum : memref<64x32xf32>, memref<32xf32>) outs(%y : memref<64x32xf32>) {
  ^bb0(%in: f32, %s: f32, %out: f32):
    %q = arith.divf %in, %s : f32
    linalg.yield %q : f32
  }
  memref.dealloc %sum : memref<32xf32>
  return
}

// Elementwise ops alone are left to elementwise fusion (and a row sum that
// an op outside the chain, a copy, separates from its consumer is too).
// CHECK-LABEL: func.func @elementwise_only(
// CHECK-NOT:     scf.for
// CHECK:         return
func.func @elementwise_only(%x: memref<64x32xf32>, %y: memref<64x32xf32>, %z: memref<64x32xf32>) {
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%x : memref<64x32xf32>) outs(%y : memref<64x32xf32>) {
  ^bb0(%in: f32, %out: f32):
    %e = math.exp %in : f32
    linalg.yield %e : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%y : memref<64x32xf32>) outs(%z : memref<64x32xf32>) {
  ^bb0(%in: f32, %out: f32):
    %e = math.exp %in : f32
    linalg.yield %e : f32
  }
  return
}

// Rows of a dynamic length: the views take the buffers' extents.
// CHECK-LABEL: func.func @dynamic_row_length(
// CHECK:         scf.for %[[R:.*]] = %c0 to %c16 step %c1 {
// CHECK:           %[[LEN:.*]] = memref.dim %{{.*}}, %c1
// CHECK:           memref.subview %{{.*}}[%[[R]], 0] [1, %[[LEN]]] [1, 1] : memref<16x?xf32> to memref<1x?xf32, strided<[?, 1], offset: ?>>
func.func @dynamic_row_length(%x: memref<16x?xf32>, %y: memref<16x?xf32>) {
  %zero = arith.constant 0.0 : f32
  %sum = memref.alloc() : memref<16x1xf32>
  linalg.fill ins(%zero : f32) outs(%sum : memref<16x1xf32>)
  linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]} ins(%x : memref<16x?xf32>) outs(%sum : memref<16x1xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %s = arith.addf %in, %acc : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]} ins(%x, %sum : memref<16x?xf32>, memref<16x1xf32>) outs(%y : memref<16x?xf32>) {
  ^bb0(%in: f32, %s: f32, %out: f32):
    %q = arith.divf %in, %s : f32
    linalg.yield %q : f32
  }
  memref.dealloc %sum : memref<16x1xf32>
  return
}

// An op that reads its loop indices (linalg.index) would see the row's
// indices, not its own: it is not fused.
// CHECK-LABEL: func.func @reads_indices(
// CHECK-NOT:     scf.for
// CHECK:         return
func.func @reads_indices(%x: memref<16x8xf32>, %y: memref<16x8xf32>) {
  %zero = arith.constant 0.0 : f32
  %sum = memref.alloc() : memref<16x1xf32>
  linalg.fill ins(%zero : f32) outs(%sum : memref<16x1xf32>)
  linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]} ins(%x : memref<16x8xf32>) outs(%sum : memref<16x1xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %s = arith.addf %in, %acc : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#row, #id], iterator_types = ["parallel", "parallel"]} ins(%sum : memref<16x1xf32>) outs(%y : memref<16x8xf32>) {
  ^bb0(%s: f32, %out: f32):
    %i = linalg.index 0 : index
    %ii = arith.index_cast %i : index to i32
    %f = arith.sitofp %ii : i32 to f32
    %q = arith.addf %s, %f : f32
    linalg.yield %q : f32
  }
  memref.dealloc %sum : memref<16x1xf32>
  return
}

// Another view of a buffer the group writes (a reshape, which may order
// the rows differently) ends the group: buffers are told apart by the
// allocation they view.
// CHECK-LABEL: func.func @other_view_of_written_buffer(
// CHECK-NOT:     scf.for
// CHECK:         return
func.func @other_view_of_written_buffer(%x: memref<8x4xf32>, %y: memref<8x4xf32>) {
  %zero = arith.constant 0.0 : f32
  %m = memref.alloc() : memref<8xf32>
  %m2 = memref.expand_shape %m [[0, 1]] output_shape [8, 1] : memref<8xf32> into memref<8x1xf32>
  linalg.fill ins(%zero : f32) outs(%m2 : memref<8x1xf32>)
  linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]} ins(%x : memref<8x4xf32>) outs(%m2 : memref<8x1xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %s = arith.addf %in, %acc : f32
    linalg.yield %s : f32
  }
  %m3 = memref.expand_shape %m [[0, 1]] output_shape [8, 1] : memref<8xf32> into memref<8x1xf32>
  linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]} ins(%x, %m3 : memref<8x4xf32>, memref<8x1xf32>) outs(%y : memref<8x4xf32>) {
  ^bb0(%in: f32, %s: f32, %out: f32):
    %q = arith.divf %in, %s : f32
    linalg.yield %q : f32
  }
  memref.dealloc %m : memref<8xf32>
  return
}
