// RUN: fxc-opt %s --split-input-file '--fxc-lower-bf16-matmul{kernel=avx512bf16}' | FileCheck %s
// RUN: fxc-opt %s --split-input-file --fxc-lower-bf16-matmul | FileCheck %s
// RUN: not fxc-opt %s --split-input-file '--fxc-lower-bf16-matmul{kernel=amx}' 2>&1 | FileCheck %s --check-prefix=BAD

// BAD: unknown kernel 'amx'; kernels are avx512bf16

// The kernel is an option (the CPU backend picks it from the host's
// features), so its IR is checked here on any host.

// bf16 inputs, an f32 output (autocast's matmul): a call of the
// per-call-packing driver on dynamic strided casts of the operands; the
// kernel functions are added once.  The zero fill of C just before the
// matmul goes: the kernel overwrites C (acc = false).  B is packed as K
// pairs interleaved into panels of 32 columns; A's K pair is one i32
// broadcast to every lane of vdpbf16ps.

// CHECK-DAG: func.func private @fxc_bf16mm_kernel(%{{.*}}: memref<?x?xbf16>, %{{.*}}: memref<?x?x64xbf16>, %{{.*}}: memref<?x?xf32, strided<[?, 1], offset: ?>>, %[[ACC:.*]]: i1)
// CHECK-DAG: scf.if %[[ACC]] -> (vector<16xf32>)
// CHECK-DAG: %[[AS:.*]] = vector.extract %{{.*}}[0] : i32 from vector<1xi32>
// CHECK-DAG: %[[AV:.*]] = vector.broadcast %[[AS]] : i32 to vector<16xi32>
// CHECK-DAG: %[[A:.*]] = vector.bitcast %[[AV]] : vector<16xi32> to vector<32xbf16>
// CHECK-DAG: llvm.call_intrinsic "llvm.x86.avx512bf16.dpbf16ps.512"(%{{.*}}, %[[A]], %{{.*}}) : (vector<16xf32>, vector<32xbf16>, vector<32xbf16>) -> vector<16xf32>
// CHECK-DAG: func.func private @fxc_bf16mm_pack_a(
// CHECK-DAG: func.func private @fxc_bf16mm_pack_b(
// CHECK-DAG: vector.shuffle %{{.*}}, %{{.*}} [0, 32, 1, 33, 2, 34,
// CHECK-DAG: func.func private @fxc_bf16mm(
// CHECK-DAG: func.func private @fxc_bf16mm_cached(
// CHECK-DAG: func.func private @fxc_bf16mm_batch(
// CHECK-LABEL: func.func @main(
// CHECK-SAME: %[[A:.*]]: memref<7x5xbf16>, %[[B:.*]]: memref<5x19xbf16>, %[[C:.*]]: memref<7x19xf32>)
// CHECK-NOT: linalg.fill
// CHECK: %[[OVERWRITE:.*]] = arith.constant false
// CHECK: %[[CA:.*]] = memref.cast %[[A]] : memref<7x5xbf16> to memref<?x?xbf16, strided<[?, 1], offset: ?>>
// CHECK: %[[CB:.*]] = memref.cast %[[B]] : memref<5x19xbf16> to memref<?x?xbf16, strided<[?, 1], offset: ?>>
// CHECK: %[[CC:.*]] = memref.cast %[[C]] : memref<7x19xf32> to memref<?x?xf32, strided<[?, 1], offset: ?>>
// CHECK: call @fxc_bf16mm(%[[CA]], %[[CB]], %[[CC]], %[[OVERWRITE]])
// CHECK-NOT: linalg.matmul
// CHECK-NOT: linalg.fill
func.func @main(%a: memref<7x5xbf16>, %b: memref<5x19xbf16>, %c: memref<7x19xf32>) {
  %c0 = arith.constant 0.0 : f32
  linalg.fill ins(%c0 : f32) outs(%c : memref<7x19xf32>)
  linalg.matmul ins(%a, %b : memref<7x5xbf16>, memref<5x19xbf16>) outs(%c : memref<7x19xf32>)
  return
}

// -----

// A constant (frozen) weight is packed once, into a global of 1 panel x
// 3 K pairs (K = 5, padded) x 64 bf16, behind a ready flag; two uses of one
// weight share it.  C is filled with one, so the kernel adds to it.

// CHECK-DAG: memref.global "private" @fxc_bf16mm_bpack_0 : memref<1x3x64xbf16> = uninitialized {alignment = 64 : i64}
// CHECK-DAG: memref.global "private" @fxc_bf16mm_bpack_0_ready : memref<i32> = dense<0>
// CHECK-NOT: @fxc_bf16mm_bpack_1 :
// CHECK-LABEL: func.func @main(
// CHECK: %[[W:.*]] = memref.get_global @__constant_5x19xbf16 : memref<5x19xbf16>
// CHECK: linalg.fill
// CHECK: %[[T:.*]] = arith.constant true
// CHECK: %[[CW:.*]] = memref.cast %[[W]]
// CHECK: %[[BP:.*]] = memref.get_global @fxc_bf16mm_bpack_0 : memref<1x3x64xbf16>
// CHECK: %[[CBP:.*]] = memref.cast %[[BP]] : memref<1x3x64xbf16> to memref<?x?x64xbf16>
// CHECK: %[[READY:.*]] = memref.get_global @fxc_bf16mm_bpack_0_ready : memref<i32>
// CHECK: call @fxc_bf16mm_cached(%{{.*}}, %[[CW]], %{{.*}}, %[[T]], %[[CBP]], %[[READY]])
// CHECK: memref.get_global @fxc_bf16mm_bpack_0 :
// CHECK: call @fxc_bf16mm_cached(
memref.global "private" constant @__constant_5x19xbf16 : memref<5x19xbf16> = dense<3.0> {alignment = 64 : i64}
func.func @main(%a: memref<7x5xbf16>, %c: memref<7x19xf32>, %d: memref<7x19xf32>) {
  %one = arith.constant 1.0 : f32
  %w = memref.get_global @__constant_5x19xbf16 : memref<5x19xbf16>
  linalg.fill ins(%one : f32) outs(%c : memref<7x19xf32>)
  linalg.matmul ins(%a, %w : memref<7x5xbf16>, memref<5x19xbf16>) outs(%c : memref<7x19xf32>)
  linalg.matmul ins(%a, %w : memref<7x5xbf16>, memref<5x19xbf16>) outs(%d : memref<7x19xf32>)
  return
}

// -----

// A batch matmul (attention's scores and values under autocast) calls the
// batch driver on 3-d dynamic strided casts: it packs every batch, then runs
// one parallel nest over (batch, N panel, row tile).

// CHECK-DAG: func.func private @fxc_bf16mm_kernel_batch(%{{.*}}: memref<?x?x?xbf16>, %{{.*}}: memref<?x?x?x64xbf16>, %{{.*}}: memref<?x?x?xf32, strided<[?, ?, 1], offset: ?>>, %{{.*}}: i1)
// CHECK-DAG: scf.parallel (%{{.*}}, %{{.*}}, %{{.*}}) =
// CHECK-DAG: func.func private @fxc_bf16mm_pack_a_batch(
// CHECK-DAG: func.func private @fxc_bf16mm_pack_b_batch(
// CHECK-LABEL: func.func @main(
// CHECK: %[[F:.*]] = arith.constant false
// CHECK: %[[CA:.*]] = memref.cast %{{.*}} : memref<4x7x5xbf16> to memref<?x?x?xbf16, strided<[?, ?, 1], offset: ?>>
// CHECK: %[[CB:.*]] = memref.cast %{{.*}} : memref<4x5x19xbf16> to memref<?x?x?xbf16, strided<[?, ?, 1], offset: ?>>
// CHECK: %[[CC:.*]] = memref.cast %{{.*}} : memref<4x7x19xf32> to memref<?x?x?xf32, strided<[?, ?, 1], offset: ?>>
// CHECK: call @fxc_bf16mm_batch(%[[CA]], %[[CB]], %[[CC]], %[[F]])
// CHECK-NOT: linalg.batch_matmul
func.func @main(%a: memref<4x7x5xbf16>, %b: memref<4x5x19xbf16>, %c: memref<4x7x19xf32>) {
  %c0 = arith.constant 0.0 : f32
  linalg.fill ins(%c0 : f32) outs(%c : memref<4x7x19xf32>)
  linalg.batch_matmul ins(%a, %b : memref<4x7x5xbf16>, memref<4x5x19xbf16>) outs(%c : memref<4x7x19xf32>)
  return
}

// -----

// linear's B is a transpose of the weight: the kernel packs from the weight
// itself (the _bt drivers; its K pairs are adjacent in a row) and the
// transpose goes, once nothing else reads its output.  Allocations and fills
// and copies into fresh buffers or the matmul's output may come between;
// a constant weight is packed once.  A transpose whose input is written in
// between stays, and the matmul reads its output.

// CHECK-DAG: func.func private @fxc_bf16mm_pack_bt(
// CHECK-DAG: memref.global "private" @fxc_bf16mm_bpack_0 : memref<1x3x64xbf16>
// CHECK-LABEL: func.func @main(
// CHECK-SAME: %[[A:[^:]*]]: memref<7x5xbf16>, %[[W:[^:]*]]: memref<19x5xbf16>
// CHECK-NOT: linalg.transpose
// CHECK: %[[CW:.*]] = memref.cast %[[W]] : memref<19x5xbf16> to memref<?x?xbf16, strided<[?, 1], offset: ?>>
// CHECK: call @fxc_bf16mm_bt(%{{.*}}, %[[CW]], %{{.*}}, %{{.*}})
// CHECK-NOT: linalg.transpose
// CHECK: %[[G:.*]] = memref.get_global @__constant_19x5xbf16
// CHECK: call @fxc_bf16mm_cached_bt(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}})
// CHECK: linalg.transpose ins(%[[W]] : memref<19x5xbf16>) outs(%[[T3:.*]] : memref<5x19xbf16>)
// CHECK: linalg.fill ins(%{{.*}} : bf16) outs(%[[W]] : memref<19x5xbf16>)
// CHECK: %[[CT3:.*]] = memref.cast %[[T3]]
// CHECK: call @fxc_bf16mm(%{{.*}}, %[[CT3]], %{{.*}}, %{{.*}})
memref.global "private" constant @__constant_19x5xbf16 : memref<19x5xbf16> = dense<3.0> {alignment = 64 : i64}
func.func @main(%a: memref<7x5xbf16>, %w: memref<19x5xbf16>, %c: memref<7x19xf32>, %d: memref<7x19xf32>) {
  %zero = arith.constant 0.0 : f32
  %zb = arith.constant 0.0 : bf16
  %t = memref.alloc() : memref<5x19xbf16>
  linalg.transpose ins(%w : memref<19x5xbf16>) outs(%t : memref<5x19xbf16>) permutation = [1, 0]
  %f = memref.alloc() : memref<7x19xf32>
  linalg.fill ins(%zero : f32) outs(%f : memref<7x19xf32>)
  memref.copy %f, %c : memref<7x19xf32> to memref<7x19xf32>
  linalg.matmul ins(%a, %t : memref<7x5xbf16>, memref<5x19xbf16>) outs(%c : memref<7x19xf32>)
  %g = memref.get_global @__constant_19x5xbf16 : memref<19x5xbf16>
  %t2 = memref.alloc() : memref<5x19xbf16>
  linalg.transpose ins(%g : memref<19x5xbf16>) outs(%t2 : memref<5x19xbf16>) permutation = [1, 0]
  linalg.matmul ins(%a, %t2 : memref<7x5xbf16>, memref<5x19xbf16>) outs(%d : memref<7x19xf32>)
  %t3 = memref.alloc() : memref<5x19xbf16>
  linalg.transpose ins(%w : memref<19x5xbf16>) outs(%t3 : memref<5x19xbf16>) permutation = [1, 0]
  linalg.fill ins(%zb : bf16) outs(%w : memref<19x5xbf16>)
  linalg.matmul ins(%a, %t3 : memref<7x5xbf16>, memref<5x19xbf16>) outs(%d : memref<7x19xf32>)
  memref.dealloc %t : memref<5x19xbf16>
  memref.dealloc %t2 : memref<5x19xbf16>
  memref.dealloc %t3 : memref<5x19xbf16>
  return
}

// -----

// Where the kernel does not apply, the matmul stays for the vectorizer: f32
// inputs, a bf16 output, one bf16 and one f32 input, a column stride other
// than one, or transposed indexing maps.

// CHECK-NOT: fxc_bf16mm
// CHECK-LABEL: func.func @main(
// CHECK-COUNT-5: linalg.matmul
// CHECK-NOT: call
// CHECK: return
func.func @main(%f: memref<4x4xf32>, %a: memref<4x4xbf16>, %s: memref<4x4xbf16, strided<[1, 4]>>,
                %c: memref<4x4xf32>, %cb: memref<4x4xbf16>) {
  linalg.matmul ins(%f, %f : memref<4x4xf32>, memref<4x4xf32>) outs(%c : memref<4x4xf32>)
  linalg.matmul ins(%a, %a : memref<4x4xbf16>, memref<4x4xbf16>) outs(%cb : memref<4x4xbf16>)
  linalg.matmul ins(%a, %f : memref<4x4xbf16>, memref<4x4xf32>) outs(%c : memref<4x4xf32>)
  linalg.matmul ins(%a, %s : memref<4x4xbf16>, memref<4x4xbf16, strided<[1, 4]>>) outs(%c : memref<4x4xf32>)
  linalg.matmul indexing_maps = [affine_map<(d0, d1, d2) -> (d2, d0)>, affine_map<(d0, d1, d2) -> (d2, d1)>, affine_map<(d0, d1, d2) -> (d0, d1)>]
      ins(%a, %a : memref<4x4xbf16>, memref<4x4xbf16>) outs(%c : memref<4x4xf32>)
  return
}

// -----

// Autocast's linear as eager's fast path bufferizes it: an f32 matmul whose
// A (through a collapse_shape) is an activation rounded to bf16 (truncf
// then extf) and whose B is a widened (extf) bf16 transpose of the weight.
// The kernel reads bf16: a clone of A's generic yields the truncf'd values
// into a new bf16 buffer (freed after the matmul), B comes from the
// weight through the transpose, and the f32 generics and the transpose,
// which nothing reads any more, go with their buffers.

// CHECK-LABEL: func.func @main(
// CHECK-SAME: %[[X:[^:]*]]: memref<2x3x5xf32>, %[[W:[^:]*]]: memref<19x5xbf16>, %[[C:[^:]*]]: memref<6x19xf32>
// CHECK-NOT: linalg.transpose
// CHECK-NOT: memref.alloc() : memref<{{5x19xbf16|2x3x5xf32}}>
// CHECK: %[[XB:.*]] = memref.alloc() : memref<2x3x5xbf16>
// CHECK: linalg.generic {{.*}} ins(%[[X]] : memref<2x3x5xf32>) outs(%[[XB]] : memref<2x3x5xbf16>)
// CHECK-NEXT: ^bb0(%[[IN:.*]]: f32, %{{.*}}: bf16):
// CHECK-NEXT: %[[R:.*]] = arith.truncf %[[IN]] : f32 to bf16
// CHECK-NEXT: linalg.yield %[[R]] : bf16
// CHECK-NOT: linalg.generic
// CHECK: %[[AV:.*]] = memref.collapse_shape %[[XB]] {{\[}}[0, 1], [2]] : memref<2x3x5xbf16> into memref<6x5xbf16>
// CHECK: %[[F:.*]] = arith.constant false
// CHECK: %[[CA:.*]] = memref.cast %[[AV]]
// CHECK: %[[CW:.*]] = memref.cast %[[W]]
// CHECK: call @fxc_bf16mm_bt(%[[CA]], %[[CW]], %{{.*}}, %[[F]])
// CHECK-NEXT: memref.dealloc %[[XB]] : memref<2x3x5xbf16>
// CHECK-NEXT: return
func.func @main(%x: memref<2x3x5xf32>, %w: memref<19x5xbf16>, %c: memref<6x19xf32>) {
  %zero = arith.constant 0.0 : f32
  %t = memref.alloc() : memref<5x19xbf16>
  linalg.transpose ins(%w : memref<19x5xbf16>) outs(%t : memref<5x19xbf16>) permutation = [1, 0]
  %xr = memref.alloc() : memref<2x3x5xf32>
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>],
                  iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x : memref<2x3x5xf32>) outs(%xr : memref<2x3x5xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.truncf %in : f32 to bf16
    %1 = arith.extf %0 : bf16 to f32
    linalg.yield %1 : f32
  }
  %a = memref.collapse_shape %xr [[0, 1], [2]] : memref<2x3x5xf32> into memref<6x5xf32>
  %b = memref.alloc() : memref<5x19xf32>
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%t : memref<5x19xbf16>) outs(%b : memref<5x19xf32>) {
  ^bb0(%in: bf16, %out: f32):
    %0 = arith.extf %in : bf16 to f32
    linalg.yield %0 : f32
  }
  linalg.fill ins(%zero : f32) outs(%c : memref<6x19xf32>)
  linalg.matmul ins(%a, %b : memref<6x5xf32>, memref<5x19xf32>) outs(%c : memref<6x19xf32>)
  memref.dealloc %t : memref<5x19xbf16>
  memref.dealloc %xr : memref<2x3x5xf32>
  memref.dealloc %b : memref<5x19xf32>
  return
}

// -----

// The same with A's rounded f32 values read again after the matmul: its
// f32 generic stays, beside the bf16 one.  B is a bf16 argument widened.

// CHECK-LABEL: func.func @main(
// CHECK-SAME: %[[X:[^:]*]]: memref<6x5xf32>, %[[B:[^:]*]]: memref<5x19xbf16>
// CHECK: %[[XR:.*]] = memref.alloc() : memref<6x5xf32>
// CHECK: %[[XB:.*]] = memref.alloc() : memref<6x5xbf16>
// CHECK: linalg.generic {{.*}} ins(%[[X]] : memref<6x5xf32>) outs(%[[XR]] : memref<6x5xf32>)
// CHECK: arith.extf
// CHECK: linalg.generic {{.*}} ins(%[[X]] : memref<6x5xf32>) outs(%[[XB]] : memref<6x5xbf16>)
// CHECK-NOT: linalg.generic
// CHECK: %[[CA:.*]] = memref.cast %[[XB]]
// CHECK: %[[CB:.*]] = memref.cast %[[B]]
// CHECK: call @fxc_bf16mm(%[[CA]], %[[CB]], %{{.*}}, %{{.*}})
// CHECK-NEXT: memref.dealloc %[[XB]]
// CHECK: memref.copy %[[XR]], %{{.*}}
#id2 = affine_map<(d0, d1) -> (d0, d1)>
func.func @main(%x: memref<6x5xf32>, %bh: memref<5x19xbf16>, %c: memref<6x19xf32>, %keep: memref<6x5xf32>) {
  %xr = memref.alloc() : memref<6x5xf32>
  linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<6x5xf32>) outs(%xr : memref<6x5xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.truncf %in : f32 to bf16
    %1 = arith.extf %0 : bf16 to f32
    linalg.yield %1 : f32
  }
  %b = memref.alloc() : memref<5x19xf32>
  linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%bh : memref<5x19xbf16>) outs(%b : memref<5x19xf32>) {
  ^bb0(%in: bf16, %out: f32):
    %0 = arith.extf %in : bf16 to f32
    linalg.yield %0 : f32
  }
  linalg.matmul ins(%xr, %b : memref<6x5xf32>, memref<5x19xf32>) outs(%c : memref<6x19xf32>)
  memref.copy %xr, %keep : memref<6x5xf32> to memref<6x5xf32>
  return
}

// -----

// One rounded activation read by a batch matmul and then a matmul: one
// bf16 copy, freed after the last of them.

// CHECK-LABEL: func.func @main(
// CHECK: %[[XB:.*]] = memref.alloc() : memref<2x3x5xbf16>
// CHECK-NOT: memref.dealloc %[[XB]]
// CHECK: call @fxc_bf16mm_batch(
// CHECK-NOT: memref.dealloc %[[XB]]
// CHECK: call @fxc_bf16mm(
// CHECK-NEXT: memref.dealloc %[[XB]]
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#id2b = affine_map<(d0, d1) -> (d0, d1)>
func.func @main(%x: memref<2x3x5xf32>, %b3h: memref<2x5x4xbf16>, %bh: memref<5x19xbf16>,
                %c3: memref<2x3x4xf32>, %c: memref<6x19xf32>) {
  %xr = memref.alloc() : memref<2x3x5xf32>
  linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x : memref<2x3x5xf32>) outs(%xr : memref<2x3x5xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.truncf %in : f32 to bf16
    %1 = arith.extf %0 : bf16 to f32
    linalg.yield %1 : f32
  }
  %b3 = memref.alloc() : memref<2x5x4xf32>
  linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%b3h : memref<2x5x4xbf16>) outs(%b3 : memref<2x5x4xf32>) {
  ^bb0(%in: bf16, %out: f32):
    %0 = arith.extf %in : bf16 to f32
    linalg.yield %0 : f32
  }
  linalg.batch_matmul ins(%xr, %b3 : memref<2x3x5xf32>, memref<2x5x4xf32>) outs(%c3 : memref<2x3x4xf32>)
  %b = memref.alloc() : memref<5x19xf32>
  linalg.generic {indexing_maps = [#id2b, #id2b], iterator_types = ["parallel", "parallel"]}
      ins(%bh : memref<5x19xbf16>) outs(%b : memref<5x19xf32>) {
  ^bb0(%in: bf16, %out: f32):
    %0 = arith.extf %in : bf16 to f32
    linalg.yield %0 : f32
  }
  %a = memref.collapse_shape %xr [[0, 1], [2]] : memref<2x3x5xf32> into memref<6x5xf32>
  linalg.matmul ins(%a, %b : memref<6x5xf32>, memref<5x19xf32>) outs(%c : memref<6x19xf32>)
  return
}

// -----

// A written by a fused epilogue (bias, ReLU, rounded to bf16, widened: a
// feed-forward layer's activation) holds bf16 values too: the clone of its
// generic keeps the epilogue and yields the bf16 value.  An epilogue that
// reads the buffer it writes (in place) is left alone.

// CHECK-LABEL: func.func @main(
// CHECK-SAME: %[[X:[^:]*]]: memref<6x5xf32>, %[[BIAS:[^:]*]]: memref<5xf32>, %[[B:[^:]*]]: memref<5x19xbf16>
// CHECK: %[[XB:.*]] = memref.alloc() : memref<6x5xbf16>
// CHECK: linalg.generic {{.*}} ins(%[[X]], %[[BIAS]] : memref<6x5xf32>, memref<5xf32>) outs(%[[XB]] : memref<6x5xbf16>)
// CHECK: arith.addf
// CHECK: arith.maximumf
// CHECK: %[[R:.*]] = arith.truncf %{{.*}} : f32 to bf16
// CHECK-NEXT: linalg.yield %[[R]] : bf16
// CHECK: call @fxc_bf16mm(
// CHECK-NEXT: memref.dealloc %[[XB]]
// CHECK: linalg.matmul ins(%{{.*}}, %{{.*}} : memref<6x5xf32>, memref<5x19xf32>)
#id3 = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d1)>
func.func @main(%x: memref<6x5xf32>, %bias: memref<5xf32>, %bh: memref<5x19xbf16>, %c: memref<6x19xf32>) {
  %zero = arith.constant 0.0 : f32
  %xr = memref.alloc() : memref<6x5xf32>
  linalg.generic {indexing_maps = [#id3, #row, #id3], iterator_types = ["parallel", "parallel"]}
      ins(%x, %bias : memref<6x5xf32>, memref<5xf32>) outs(%xr : memref<6x5xf32>) {
  ^bb0(%in: f32, %b: f32, %out: f32):
    %0 = arith.addf %in, %b : f32
    %1 = arith.maximumf %0, %zero : f32
    %2 = arith.truncf %1 : f32 to bf16
    %3 = arith.extf %2 : bf16 to f32
    linalg.yield %3 : f32
  }
  %b = memref.alloc() : memref<5x19xf32>
  linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel"]}
      ins(%bh : memref<5x19xbf16>) outs(%b : memref<5x19xf32>) {
  ^bb0(%in: bf16, %out: f32):
    %0 = arith.extf %in : bf16 to f32
    linalg.yield %0 : f32
  }
  linalg.matmul ins(%xr, %b : memref<6x5xf32>, memref<5x19xf32>) outs(%c : memref<6x19xf32>)
  %y = memref.alloc() : memref<6x5xf32>
  linalg.copy ins(%x : memref<6x5xf32>) outs(%y : memref<6x5xf32>)
  linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel"]}
      ins(%y : memref<6x5xf32>) outs(%y : memref<6x5xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.truncf %in : f32 to bf16
    %1 = arith.extf %0 : bf16 to f32
    linalg.yield %1 : f32
  }
  linalg.matmul ins(%y, %b : memref<6x5xf32>, memref<5x19xf32>) outs(%c : memref<6x19xf32>)
  return
}

// -----

// f32 matmuls left alone: an operand widened from f16, one whose generic
// does more than round (a negf), one of plain f32 values (both operands
// must hold bf16), one whose rounded buffer is overwritten before the
// matmul, and one whose widened bf16 source is.

// CHECK-LABEL: func.func @main(
// CHECK-NOT: fxc_bf16mm
// CHECK-COUNT-5: linalg.matmul ins(%{{.*}}, %{{.*}} : memref<6x5xf32>, memref<5x19xf32>)
// CHECK-NOT: call
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @main(%x: memref<6x5xf32>, %bh: memref<5x19xbf16>, %h: memref<5x19xf16>, %c: memref<6x19xf32>) {
  %one = arith.constant 1.0 : f32
  %zb = arith.constant 0.0 : bf16
  %xr = memref.alloc() : memref<6x5xf32>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<6x5xf32>) outs(%xr : memref<6x5xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.truncf %in : f32 to bf16
    %1 = arith.extf %0 : bf16 to f32
    linalg.yield %1 : f32
  }
  %b = memref.alloc() : memref<5x19xf32>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%bh : memref<5x19xbf16>) outs(%b : memref<5x19xf32>) {
  ^bb0(%in: bf16, %out: f32):
    %0 = arith.extf %in : bf16 to f32
    linalg.yield %0 : f32
  }
  %bf16 = memref.alloc() : memref<5x19xf32>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%h : memref<5x19xf16>) outs(%bf16 : memref<5x19xf32>) {
  ^bb0(%in: f16, %out: f32):
    %0 = arith.extf %in : f16 to f32
    linalg.yield %0 : f32
  }
  linalg.matmul ins(%xr, %bf16 : memref<6x5xf32>, memref<5x19xf32>) outs(%c : memref<6x19xf32>)
  %bneg = memref.alloc() : memref<5x19xf32>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%bh : memref<5x19xbf16>) outs(%bneg : memref<5x19xf32>) {
  ^bb0(%in: bf16, %out: f32):
    %0 = arith.extf %in : bf16 to f32
    %1 = arith.negf %0 : f32
    linalg.yield %1 : f32
  }
  linalg.matmul ins(%xr, %bneg : memref<6x5xf32>, memref<5x19xf32>) outs(%c : memref<6x19xf32>)
  linalg.matmul ins(%x, %b : memref<6x5xf32>, memref<5x19xf32>) outs(%c : memref<6x19xf32>)
  linalg.fill ins(%one : f32) outs(%xr : memref<6x5xf32>)
  linalg.matmul ins(%xr, %b : memref<6x5xf32>, memref<5x19xf32>) outs(%c : memref<6x19xf32>)
  %x2 = memref.alloc() : memref<6x5xf32>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<6x5xf32>) outs(%x2 : memref<6x5xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.truncf %in : f32 to bf16
    %1 = arith.extf %0 : bf16 to f32
    linalg.yield %1 : f32
  }
  linalg.fill ins(%zb : bf16) outs(%bh : memref<5x19xbf16>)
  linalg.matmul ins(%x2, %b : memref<6x5xf32>, memref<5x19xf32>) outs(%c : memref<6x19xf32>)
  return
}
