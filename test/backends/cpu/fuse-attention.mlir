// RUN: fxc-opt %s --pass-pipeline='builtin.module(fxc-fuse-attention)' | FileCheck %s
// RUN: fxc-opt %s --pass-pipeline='builtin.module(fxc-fuse-attention{parallel=true})' | FileCheck %s --check-prefix=PAR

#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#row = affine_map<(d0, d1, d2) -> (d0, d1, 0)>
#red = affine_map<(d0, d1, d2) -> (d0, d1)>
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#row4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, 0)>
#mask4 = affine_map<(d0, d1, d2, d3) -> (d2, d3)>

// Attention as bufferization leaves it: scores = Q K^T (8 heads of 100
// queries by 128 keys), a softmax over each row (the max through a
// [2, 4, 100, 1] view of its buffer, as torch-mlir's keepdim reductions
// write it), then P V into the result.  All of it runs per (head, block of
// 32 query rows): three blocks of 32 and a tail block of 4, each on static
// views.  The scores, the max, the sums and P are only used inside: each
// block has block-sized buffers of its own (32 x 128 scores) and the whole
// [8, 100, 128] ones are gone.  Q, K^T, V and the result are read and
// written through subviews.
// CHECK-LABEL: func.func @attention(
// CHECK-NOT:     memref.alloc() : memref<8x100x128xf32>
// CHECK:         scf.for %[[H:.*]] = %{{.*}} to %c8 step %{{.*}} {
// CHECK:           scf.for %[[K:.*]] = %{{.*}} to %c4 step %{{.*}} {
// CHECK:             %[[I:.*]] = arith.muli %[[K]], %c32
// CHECK:             %[[FULL:.*]] = arith.cmpi ult, %[[K]], %c3
// CHECK:             scf.if %[[FULL]] {
// CHECK:               %[[S:.*]] = memref.alloc() {alignment = 64 : i64} : memref<4096xf32>
// CHECK:               %[[SV:.*]] = memref.expand_shape %[[S]] {{\[\[}}0, 1, 2]] output_shape [1, 32, 128] : memref<4096xf32> into memref<1x32x128xf32>
// CHECK:               linalg.fill {fxc.sequential} ins(%{{.*}} : f32) outs(%[[SV]] : memref<1x32x128xf32>)
// CHECK:               %[[Q:.*]] = memref.subview %{{.*}}[%[[H]], %[[I]], 0] [1, 32, 64] [1, 1, 1] : memref<8x100x64xf32> to memref<1x32x64xf32, strided<[6400, 64, 1], offset: ?>>
// CHECK:               %[[KT:.*]] = memref.subview %{{.*}}[%[[H]], 0, 0] [1, 64, 128] [1, 1, 1] : memref<8x64x128xf32> to memref<1x64x128xf32, strided<[8192, 128, 1], offset: ?>>
// CHECK:               linalg.batch_matmul {fxc.sequential} ins(%[[Q]], %[[KT]] : {{.*}}) outs(%{{.*}} : memref<1x32x128xf32>)
// The [2, 4, 100, 1] view's row (h / 4, h % 4) is head h's.
// CHECK:               arith.remui %[[H]], %c4
// CHECK:               arith.divui %[[H]], %c4
// CHECK:               linalg.fill {fxc.sequential} ins(%{{.*}} : f32) outs(%{{.*}} : memref<1x1x32x1xf32>)
// CHECK:               linalg.generic {{.*}} ins(%{{.*}} : memref<1x1x32x128xf32>) outs(%{{.*}} : memref<1x1x32x1xf32>) attrs =  {fxc.sequential}
// CHECK:                 arith.maximumf
// CHECK:               math.exp
// CHECK:               arith.divf
// CHECK:               %[[O:.*]] = memref.subview %{{.*}}[%[[H]], %[[I]], 0] [1, 32, 64] [1, 1, 1] : memref<8x100x64xf32> to memref<1x32x64xf32, strided<[6400, 64, 1], offset: ?>>
// CHECK:               linalg.fill {fxc.sequential} ins(%{{.*}} : f32) outs(%[[O]] :
// CHECK:               linalg.batch_matmul {fxc.sequential} ins(%{{.*}}, %{{.*}} : memref<1x32x128xf32>, memref<1x128x64xf32, strided<[8192, 64, 1], offset: ?>>) outs(%{{.*}} : memref<1x32x64xf32, strided<[6400, 64, 1], offset: ?>>)
// CHECK:               memref.dealloc %[[S]] : memref<4096xf32>
// CHECK:             } else {
// CHECK:               memref.alloc() {alignment = 64 : i64} : memref<512xf32>
// CHECK:               linalg.batch_matmul {fxc.sequential} ins(%{{.*}}, %{{.*}} : memref<1x4x64xf32, strided<[6400, 64, 1], offset: ?>>, memref<1x64x128xf32, {{.*}}>) outs(%{{.*}} : memref<1x4x128xf32>)
// CHECK:               linalg.batch_matmul {fxc.sequential} ins(%{{.*}}, %{{.*}} : memref<1x4x128xf32>, {{.*}}) outs(%{{.*}} : memref<1x4x64xf32, strided<[6400, 64, 1], offset: ?>>)
// CHECK:           }
// CHECK-NOT:     linalg.
// CHECK:         return
// With parallel (8 x 100 x 128 x 64 x 2 multiply-adds), the (head, block)
// loop is an scf.parallel.
// PAR-LABEL: func.func @attention(
// PAR:         scf.parallel (%{{.*}}, %{{.*}}) = (%{{.*}}, %{{.*}}) to (%c8, %c4) step (%{{.*}}, %{{.*}}) {
// PAR-NOT:     scf.for
// PAR:           scf.if
// PAR:           scf.reduce
func.func @attention(%q: memref<8x100x64xf32>, %kt: memref<8x64x128xf32>, %v: memref<8x128x64xf32>, %out: memref<8x100x64xf32>) {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %s = memref.alloc() : memref<8x100x128xf32>
  linalg.fill ins(%zero : f32) outs(%s : memref<8x100x128xf32>)
  linalg.batch_matmul ins(%q, %kt : memref<8x100x64xf32>, memref<8x64x128xf32>) outs(%s : memref<8x100x128xf32>)
  %s4 = memref.expand_shape %s [[0, 1], [2], [3]] output_shape [2, 4, 100, 128] : memref<8x100x128xf32> into memref<2x4x100x128xf32>
  %m = memref.alloc() : memref<2x4x100xf32>
  %m4 = memref.expand_shape %m [[0], [1], [2, 3]] output_shape [2, 4, 100, 1] : memref<2x4x100xf32> into memref<2x4x100x1xf32>
  linalg.fill ins(%ninf : f32) outs(%m4 : memref<2x4x100x1xf32>)
  linalg.generic {indexing_maps = [#id4, #row4], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%s4 : memref<2x4x100x128xf32>) outs(%m4 : memref<2x4x100x1xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %x = arith.maximumf %in, %acc : f32
    linalg.yield %x : f32
  }
  %m3 = memref.collapse_shape %m4 [[0, 1], [2], [3]] : memref<2x4x100x1xf32> into memref<8x100x1xf32>
  %sum = memref.alloc() : memref<8x100xf32>
  linalg.fill ins(%zero : f32) outs(%sum : memref<8x100xf32>)
  linalg.generic {indexing_maps = [#id, #row, #red], iterator_types = ["parallel", "parallel", "reduction"]} ins(%s, %m3 : memref<8x100x128xf32>, memref<8x100x1xf32>) outs(%sum : memref<8x100xf32>) {
  ^bb0(%in: f32, %mx: f32, %acc: f32):
    %d = arith.subf %in, %mx : f32
    %e = math.exp %d : f32
    %a = arith.addf %e, %acc : f32
    linalg.yield %a : f32
  }
  %p = memref.alloc() : memref<8x100x128xf32>
  linalg.generic {indexing_maps = [#id, #row, #red, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s, %m3, %sum : memref<8x100x128xf32>, memref<8x100x1xf32>, memref<8x100xf32>) outs(%p : memref<8x100x128xf32>) {
  ^bb0(%in: f32, %mx: f32, %t: f32, %o: f32):
    %d = arith.subf %in, %mx : f32
    %e = math.exp %d : f32
    %r = arith.divf %e, %t : f32
    linalg.yield %r : f32
  }
  linalg.fill ins(%zero : f32) outs(%out : memref<8x100x64xf32>)
  linalg.batch_matmul ins(%p, %v : memref<8x100x128xf32>, memref<8x128x64xf32>) outs(%out : memref<8x100x64xf32>)
  memref.dealloc %s : memref<8x100x128xf32>
  memref.dealloc %m : memref<2x4x100xf32>
  memref.dealloc %sum : memref<8x100xf32>
  memref.dealloc %p : memref<8x100x128xf32>
  return
}

// A causal mask built between the ops (from indices: its rows are not the
// scores') reads and writes nothing the chain does: it moves before the
// loop, whole (on one thread: it is for all heads, a fork/join of its own
// costs more than it saves), and the chain is fused around it.  Its 16 query rows are one
// block.  The copy of the filled max buffer (bufferization's, when two ops
// start from one fill) is a row op too: a linalg.copy of the block's rows
// (a strided memref.copy would call a library the JIT lacks).
// CHECK-LABEL: func.func @causal(
// CHECK:         linalg.generic {{.*}} outs(%[[MASK:[^ ]*]] : memref<16x16xf32>) attrs =  {fxc.sequential}
// CHECK:           linalg.index
// CHECK:         scf.for
// CHECK:           scf.for
// CHECK-NOT:         scf.if
// CHECK:             memref.subview %[[MASK]][%{{.*}}, 0] [16, 16] [1, 1]
// CHECK:             linalg.generic
// CHECK:               arith.addf
// CHECK:             linalg.fill {fxc.sequential} ins(%{{.*}} : f32) outs(%{{.*}} : memref<1x16xf32>)
// CHECK:             linalg.copy {{{.*}}fxc.sequential} ins(%{{.*}} : memref<1x16xf32>) outs(%{{.*}} : memref<1x16xf32>)
// PAR-LABEL: func.func @causal(
// PAR-NOT:     scf.parallel
// PAR:         return
func.func @causal(%q: memref<2x16x8xf32>, %kt: memref<2x8x16xf32>, %v: memref<2x16x8xf32>, %out: memref<2x16x8xf32>) {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %s = memref.alloc() : memref<2x16x16xf32>
  linalg.fill ins(%zero : f32) outs(%s : memref<2x16x16xf32>)
  linalg.batch_matmul ins(%q, %kt : memref<2x16x8xf32>, memref<2x8x16xf32>) outs(%s : memref<2x16x16xf32>)
  %mask = memref.alloc() : memref<16x16xf32>
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} outs(%mask : memref<16x16xf32>) {
  ^bb0(%o: f32):
    %i = linalg.index 0 : index
    %j = linalg.index 1 : index
    %future = arith.cmpi ugt, %j, %i : index
    %b = arith.select %future, %ninf, %zero : f32
    linalg.yield %b : f32
  }
  %masked = memref.alloc() : memref<2x16x16xf32>
  linalg.generic {indexing_maps = [#id, affine_map<(d0, d1, d2) -> (d1, d2)>, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s, %mask : memref<2x16x16xf32>, memref<16x16xf32>) outs(%masked : memref<2x16x16xf32>) {
  ^bb0(%in: f32, %b: f32, %o: f32):
    %a = arith.addf %in, %b : f32
    linalg.yield %a : f32
  }
  %init = memref.alloc() : memref<2x16xf32>
  linalg.fill ins(%ninf : f32) outs(%init : memref<2x16xf32>)
  %m = memref.alloc() : memref<2x16xf32>
  memref.copy %init, %m : memref<2x16xf32> to memref<2x16xf32>
  linalg.generic {indexing_maps = [#id, #red], iterator_types = ["parallel", "parallel", "reduction"]} ins(%masked : memref<2x16x16xf32>) outs(%m : memref<2x16xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %x = arith.maximumf %in, %acc : f32
    linalg.yield %x : f32
  }
  %p = memref.alloc() : memref<2x16x16xf32>
  linalg.generic {indexing_maps = [#id, #red, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%masked, %m : memref<2x16x16xf32>, memref<2x16xf32>) outs(%p : memref<2x16x16xf32>) {
  ^bb0(%in: f32, %mx: f32, %o: f32):
    %d = arith.subf %in, %mx : f32
    %e = math.exp %d : f32
    linalg.yield %e : f32
  }
  linalg.fill ins(%zero : f32) outs(%out : memref<2x16x8xf32>)
  linalg.batch_matmul ins(%p, %v : memref<2x16x16xf32>, memref<2x16x8xf32>) outs(%out : memref<2x16x8xf32>)
  memref.dealloc %s : memref<2x16x16xf32>
  memref.dealloc %mask : memref<16x16xf32>
  memref.dealloc %masked : memref<2x16x16xf32>
  memref.dealloc %init : memref<2x16xf32>
  memref.dealloc %m : memref<2x16xf32>
  memref.dealloc %p : memref<2x16x16xf32>
  return
}

// A causal mask as fxc's decomposition of is_causal builds it (-inf where
// j - i > 0, from two views of an arange): block r of 32 query rows sees
// only keys [0, 32 * (r + 1)), so each op of the block runs its key loop
// over min(64, first row + 32) keys (the scores, the mask, the softmax,
// K^T's columns and V's rows), not all 64: a left-out key's exp is 0, adds
// 0 to the sums and to P V, and leaves the row maxima alone.
// CHECK-LABEL: func.func @causal_keys_left_out(
// CHECK:         scf.for
// CHECK:           scf.for
// CHECK:             %[[R:.*]] = arith.muli %{{.*}}, %c32
// CHECK:             %[[END:.*]] = arith.addi %[[R]], %c32
// CHECK:             %[[KEYS:.*]] = arith.minui %[[END]], %c64
// CHECK:             memref.subview %{{.*}}[0, 0, 0] [1, 32, %[[KEYS]]] [1, 1, 1] : memref<1x32x64xf32> to memref<1x32x?xf32, strided<[2048, 64, 1]>>
// CHECK:             linalg.batch_matmul {fxc.sequential} ins(%{{.*}}, %{{.*}} : memref<1x32x8xf32, {{.*}}>, memref<1x8x?xf32, {{.*}}>) outs(%{{.*}} : memref<1x32x?xf32, {{.*}}>)
// CHECK:             memref.subview %[[MASK:.*]][%[[R]], 0] [32, %[[KEYS]]] [1, 1]
// CHECK:             linalg.batch_matmul {fxc.sequential} ins(%{{.*}}, %{{.*}} : memref<1x32x?xf32, {{.*}}>, memref<1x?x8xf32, {{.*}}>) outs(%{{.*}} : memref<1x32x8xf32, {{.*}}>)
func.func @causal_keys_left_out(%q: memref<2x64x8xf32>, %kt: memref<2x8x64xf32>, %v: memref<2x64x8xf32>, %out: memref<2x64x8xf32>, %l: memref<2x64xf32>) {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %c0_i64 = arith.constant 0 : i64
  %s = memref.alloc() : memref<2x64x64xf32>
  linalg.fill ins(%zero : f32) outs(%s : memref<2x64x64xf32>)
  linalg.batch_matmul ins(%q, %kt : memref<2x64x8xf32>, memref<2x8x64xf32>) outs(%s : memref<2x64x64xf32>)
  %idx = memref.alloc() : memref<64xi64>
  linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} outs(%idx : memref<64xi64>) {
  ^bb0(%o: i64):
    %i = linalg.index 0 : index
    %c = arith.index_cast %i : index to i64
    linalg.yield %c : i64
  }
  %cols = memref.expand_shape %idx [[0, 1]] output_shape [1, 64] : memref<64xi64> into memref<1x64xi64>
  %rows = memref.expand_shape %idx [[0, 1]] output_shape [64, 1] : memref<64xi64> into memref<64x1xi64>
  %mask = memref.alloc() : memref<64x64xf32>
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (0, d1)>, affine_map<(d0, d1) -> (d0, 0)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%cols, %rows : memref<1x64xi64>, memref<64x1xi64>) outs(%mask : memref<64x64xf32>) {
  ^bb0(%j: i64, %i: i64, %o: f32):
    %d = arith.subi %j, %i : i64
    %future = arith.cmpi sgt, %d, %c0_i64 : i64
    %b = arith.select %future, %ninf, %zero : f32
    linalg.yield %b : f32
  }
  %m = memref.alloc() : memref<2x64xf32>
  linalg.fill ins(%ninf : f32) outs(%m : memref<2x64xf32>)
  linalg.generic {indexing_maps = [#id, affine_map<(d0, d1, d2) -> (d1, d2)>, #red], iterator_types = ["parallel", "parallel", "reduction"]} ins(%s, %mask : memref<2x64x64xf32>, memref<64x64xf32>) outs(%m : memref<2x64xf32>) {
  ^bb0(%in: f32, %b: f32, %acc: f32):
    %a = arith.addf %in, %b : f32
    %x = arith.maximumf %a, %acc : f32
    linalg.yield %x : f32
  }
  %p = memref.alloc() : memref<2x64x64xf32>
  linalg.generic {indexing_maps = [#id, affine_map<(d0, d1, d2) -> (d1, d2)>, #red, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s, %mask, %m : memref<2x64x64xf32>, memref<64x64xf32>, memref<2x64xf32>) outs(%p : memref<2x64x64xf32>) {
  ^bb0(%in: f32, %b: f32, %mx: f32, %o: f32):
    %a = arith.addf %in, %b : f32
    %d = arith.subf %a, %mx : f32
    %e = math.exp %d : f32
    linalg.yield %e : f32
  }
  linalg.fill ins(%zero : f32) outs(%l : memref<2x64xf32>)
  linalg.generic {indexing_maps = [#id, #red], iterator_types = ["parallel", "parallel", "reduction"]} ins(%p : memref<2x64x64xf32>) outs(%l : memref<2x64xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %x = arith.addf %in, %acc : f32
    linalg.yield %x : f32
  }
  linalg.fill ins(%zero : f32) outs(%out : memref<2x64x8xf32>)
  linalg.batch_matmul ins(%p, %v : memref<2x64x64xf32>, memref<2x64x8xf32>) outs(%out : memref<2x64x8xf32>)
  memref.dealloc %s : memref<2x64x64xf32>
  memref.dealloc %idx : memref<64xi64>
  memref.dealloc %mask : memref<64x64xf32>
  memref.dealloc %m : memref<2x64xf32>
  memref.dealloc %p : memref<2x64x64xf32>
  return
}

// The same, but P is the caller's (attention weights it returns): its
// masked columns must be written, so every key is computed.
// CHECK-LABEL: func.func @causal_weights_returned(
// CHECK-NOT:     arith.minui
// CHECK:         return
func.func @causal_weights_returned(%q: memref<2x64x8xf32>, %kt: memref<2x8x64xf32>, %v: memref<2x64x8xf32>, %out: memref<2x64x8xf32>, %l: memref<2x64xf32>, %w: memref<2x64x64xf32>) {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %c0_i64 = arith.constant 0 : i64
  %s = memref.alloc() : memref<2x64x64xf32>
  linalg.fill ins(%zero : f32) outs(%s : memref<2x64x64xf32>)
  linalg.batch_matmul ins(%q, %kt : memref<2x64x8xf32>, memref<2x8x64xf32>) outs(%s : memref<2x64x64xf32>)
  %idx = memref.alloc() : memref<64xi64>
  linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} outs(%idx : memref<64xi64>) {
  ^bb0(%o: i64):
    %i = linalg.index 0 : index
    %c = arith.index_cast %i : index to i64
    linalg.yield %c : i64
  }
  %cols = memref.expand_shape %idx [[0, 1]] output_shape [1, 64] : memref<64xi64> into memref<1x64xi64>
  %rows = memref.expand_shape %idx [[0, 1]] output_shape [64, 1] : memref<64xi64> into memref<64x1xi64>
  %mask = memref.alloc() : memref<64x64xf32>
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (0, d1)>, affine_map<(d0, d1) -> (d0, 0)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%cols, %rows : memref<1x64xi64>, memref<64x1xi64>) outs(%mask : memref<64x64xf32>) {
  ^bb0(%j: i64, %i: i64, %o: f32):
    %d = arith.subi %j, %i : i64
    %future = arith.cmpi sgt, %d, %c0_i64 : i64
    %b = arith.select %future, %ninf, %zero : f32
    linalg.yield %b : f32
  }
  %m = memref.alloc() : memref<2x64xf32>
  linalg.fill ins(%ninf : f32) outs(%m : memref<2x64xf32>)
  linalg.generic {indexing_maps = [#id, affine_map<(d0, d1, d2) -> (d1, d2)>, #red], iterator_types = ["parallel", "parallel", "reduction"]} ins(%s, %mask : memref<2x64x64xf32>, memref<64x64xf32>) outs(%m : memref<2x64xf32>) {
  ^bb0(%in: f32, %b: f32, %acc: f32):
    %a = arith.addf %in, %b : f32
    %x = arith.maximumf %a, %acc : f32
    linalg.yield %x : f32
  }
  linalg.generic {indexing_maps = [#id, affine_map<(d0, d1, d2) -> (d1, d2)>, #red, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s, %mask, %m : memref<2x64x64xf32>, memref<64x64xf32>, memref<2x64xf32>) outs(%w : memref<2x64x64xf32>) {
  ^bb0(%in: f32, %b: f32, %mx: f32, %o: f32):
    %a = arith.addf %in, %b : f32
    %d = arith.subf %a, %mx : f32
    %e = math.exp %d : f32
    linalg.yield %e : f32
  }
  linalg.fill ins(%zero : f32) outs(%l : memref<2x64xf32>)
  linalg.generic {indexing_maps = [#id, #red], iterator_types = ["parallel", "parallel", "reduction"]} ins(%w : memref<2x64x64xf32>) outs(%l : memref<2x64xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %x = arith.addf %in, %acc : f32
    linalg.yield %x : f32
  }
  linalg.fill ins(%zero : f32) outs(%out : memref<2x64x8xf32>)
  linalg.batch_matmul ins(%w, %v : memref<2x64x64xf32>, memref<2x64x8xf32>) outs(%out : memref<2x64x8xf32>)
  memref.dealloc %s : memref<2x64x64xf32>
  memref.dealloc %idx : memref<64xi64>
  memref.dealloc %mask : memref<64x64xf32>
  memref.dealloc %m : memref<2x64xf32>
  return
}

// The same, but the sum is of P + 1 (a left-out key would add 1, not 0):
// every key is computed.
// CHECK-LABEL: func.func @causal_not_neutral(
// CHECK-NOT:     arith.minui
// CHECK:         return
func.func @causal_not_neutral(%q: memref<2x64x8xf32>, %kt: memref<2x8x64xf32>, %v: memref<2x64x8xf32>, %out: memref<2x64x8xf32>, %l: memref<2x64xf32>) {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %c0_i64 = arith.constant 0 : i64
  %s = memref.alloc() : memref<2x64x64xf32>
  linalg.fill ins(%zero : f32) outs(%s : memref<2x64x64xf32>)
  linalg.batch_matmul ins(%q, %kt : memref<2x64x8xf32>, memref<2x8x64xf32>) outs(%s : memref<2x64x64xf32>)
  %idx = memref.alloc() : memref<64xi64>
  linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} outs(%idx : memref<64xi64>) {
  ^bb0(%o: i64):
    %i = linalg.index 0 : index
    %c = arith.index_cast %i : index to i64
    linalg.yield %c : i64
  }
  %cols = memref.expand_shape %idx [[0, 1]] output_shape [1, 64] : memref<64xi64> into memref<1x64xi64>
  %rows = memref.expand_shape %idx [[0, 1]] output_shape [64, 1] : memref<64xi64> into memref<64x1xi64>
  %mask = memref.alloc() : memref<64x64xf32>
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (0, d1)>, affine_map<(d0, d1) -> (d0, 0)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%cols, %rows : memref<1x64xi64>, memref<64x1xi64>) outs(%mask : memref<64x64xf32>) {
  ^bb0(%j: i64, %i: i64, %o: f32):
    %d = arith.subi %j, %i : i64
    %future = arith.cmpi sgt, %d, %c0_i64 : i64
    %b = arith.select %future, %ninf, %zero : f32
    linalg.yield %b : f32
  }
  %m = memref.alloc() : memref<2x64xf32>
  linalg.fill ins(%ninf : f32) outs(%m : memref<2x64xf32>)
  linalg.generic {indexing_maps = [#id, affine_map<(d0, d1, d2) -> (d1, d2)>, #red], iterator_types = ["parallel", "parallel", "reduction"]} ins(%s, %mask : memref<2x64x64xf32>, memref<64x64xf32>) outs(%m : memref<2x64xf32>) {
  ^bb0(%in: f32, %b: f32, %acc: f32):
    %a = arith.addf %in, %b : f32
    %x = arith.maximumf %a, %acc : f32
    linalg.yield %x : f32
  }
  %p = memref.alloc() : memref<2x64x64xf32>
  linalg.generic {indexing_maps = [#id, affine_map<(d0, d1, d2) -> (d1, d2)>, #red, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s, %mask, %m : memref<2x64x64xf32>, memref<64x64xf32>, memref<2x64xf32>) outs(%p : memref<2x64x64xf32>) {
  ^bb0(%in: f32, %b: f32, %mx: f32, %o: f32):
    %a = arith.addf %in, %b : f32
    %d = arith.subf %a, %mx : f32
    %e = math.exp %d : f32
    linalg.yield %e : f32
  }
  linalg.fill ins(%zero : f32) outs(%l : memref<2x64xf32>)
  linalg.generic {indexing_maps = [#id, #red], iterator_types = ["parallel", "parallel", "reduction"]} ins(%p : memref<2x64x64xf32>) outs(%l : memref<2x64xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %one = arith.constant 1.0 : f32
    %y = arith.addf %in, %one : f32
    %x = arith.addf %y, %acc : f32
    linalg.yield %x : f32
  }
  linalg.fill ins(%zero : f32) outs(%out : memref<2x64x8xf32>)
  linalg.batch_matmul ins(%p, %v : memref<2x64x64xf32>, memref<2x64x8xf32>) outs(%out : memref<2x64x8xf32>)
  memref.dealloc %s : memref<2x64x64xf32>
  memref.dealloc %idx : memref<64xi64>
  memref.dealloc %mask : memref<64x64xf32>
  memref.dealloc %m : memref<2x64xf32>
  memref.dealloc %p : memref<2x64x64xf32>
  return
}

// The normalization reads each head's first row of scores (a [d0, 0, d2]
// read, not its own row): a block would read what another block writes.
// Nothing is fused.
// CHECK-LABEL: func.func @other_row(
// CHECK-NOT:     scf.for
// CHECK:         linalg.batch_matmul ins(%{{.*}}, %{{.*}} : memref<2x16x8xf32>, memref<2x8x16xf32>) outs(%{{.*}} : memref<2x16x16xf32>)
// CHECK-NOT:     scf.for
// CHECK:         return
func.func @other_row(%q: memref<2x16x8xf32>, %kt: memref<2x8x16xf32>, %v: memref<2x16x8xf32>, %out: memref<2x16x8xf32>) {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %s = memref.alloc() : memref<2x16x16xf32>
  linalg.fill ins(%zero : f32) outs(%s : memref<2x16x16xf32>)
  linalg.batch_matmul ins(%q, %kt : memref<2x16x8xf32>, memref<2x8x16xf32>) outs(%s : memref<2x16x16xf32>)
  %m = memref.alloc() : memref<2x16xf32>
  linalg.fill ins(%ninf : f32) outs(%m : memref<2x16xf32>)
  linalg.generic {indexing_maps = [#id, #red], iterator_types = ["parallel", "parallel", "reduction"]} ins(%s : memref<2x16x16xf32>) outs(%m : memref<2x16xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %x = arith.maximumf %in, %acc : f32
    linalg.yield %x : f32
  }
  %p = memref.alloc() : memref<2x16x16xf32>
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, 0, d2)>, #red, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s, %m : memref<2x16x16xf32>, memref<2x16xf32>) outs(%p : memref<2x16x16xf32>) {
  ^bb0(%in: f32, %mx: f32, %o: f32):
    %d = arith.subf %in, %mx : f32
    %e = math.exp %d : f32
    linalg.yield %e : f32
  }
  linalg.fill ins(%zero : f32) outs(%out : memref<2x16x8xf32>)
  linalg.batch_matmul ins(%p, %v : memref<2x16x16xf32>, memref<2x16x8xf32>) outs(%out : memref<2x16x8xf32>)
  memref.dealloc %s : memref<2x16x16xf32>
  memref.dealloc %m : memref<2x16xf32>
  memref.dealloc %p : memref<2x16x16xf32>
  return
}
