// RUN: not fxc-opt %s --split-input-file --fxc-lower-out-dtype 2>&1 | FileCheck %s

// Malformed operands are diagnosed at the op, never a Python traceback
// (PyTorch's meta functions, which the pass asks for eager's result dtype,
// raise on them).
// CHECK-NOT: Traceback

// A negative stride.
func.func @negative_stride(%x: !torch.vtensor<[1,3,8,8],si8>, %w: !torch.vtensor<[4,3,3,3],si8>) -> !torch.vtensor<[1,4,6,6],si32> {
  %int1 = torch.constant.int 1
  %s = torch.constant.int -1
  %p = torch.constant.int 0
  %stride = torch.prim.ListConstruct %s, %s : (!torch.int, !torch.int) -> !torch.list<int>
  %padding = torch.prim.ListConstruct %p, %p : (!torch.int, !torch.int) -> !torch.list<int>
  %dilation = torch.prim.ListConstruct %int1, %int1 : (!torch.int, !torch.int) -> !torch.list<int>
  %none = torch.constant.none
  // CHECK: lower-out-dtype-invalid.mlir:[[@LINE+1]]: error: out_dtype(aten.conv2d.default): {{.*}}
  %0 = "fxc.out_dtype"(%x, %w, %none, %stride, %padding, %dilation, %int1) {op = "aten.conv2d.default", operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0>, out_dtype = si32} : (!torch.vtensor<[1,3,8,8],si8>, !torch.vtensor<[4,3,3,3],si8>, !torch.none, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int) -> !torch.vtensor<[1,4,6,6],si32>
  return %0 : !torch.vtensor<[1,4,6,6],si32>
}

// -----

// Padding far beyond any size.
func.func @huge_padding(%x: !torch.vtensor<[1,3,8,8],si8>, %w: !torch.vtensor<[4,3,3,3],si8>) -> !torch.vtensor<[1,4,6,6],si32> {
  %int1 = torch.constant.int 1
  %s = torch.constant.int 1
  %p = torch.constant.int 4611686018427387904
  %stride = torch.prim.ListConstruct %s, %s : (!torch.int, !torch.int) -> !torch.list<int>
  %padding = torch.prim.ListConstruct %p, %p : (!torch.int, !torch.int) -> !torch.list<int>
  %dilation = torch.prim.ListConstruct %int1, %int1 : (!torch.int, !torch.int) -> !torch.list<int>
  %none = torch.constant.none
  // CHECK: lower-out-dtype-invalid.mlir:[[@LINE+1]]: error: out_dtype(aten.conv2d.default): {{.*}}
  %0 = "fxc.out_dtype"(%x, %w, %none, %stride, %padding, %dilation, %int1) {op = "aten.conv2d.default", operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0>, out_dtype = si32} : (!torch.vtensor<[1,3,8,8],si8>, !torch.vtensor<[4,3,3,3],si8>, !torch.none, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int) -> !torch.vtensor<[1,4,6,6],si32>
  return %0 : !torch.vtensor<[1,4,6,6],si32>
}

// -----

// A 3x3 kernel on a 2x2 input.
func.func @kernel_larger_than_input(%x: !torch.vtensor<[1,3,2,2],si8>, %w: !torch.vtensor<[4,3,3,3],si8>) -> !torch.vtensor<[1,4,6,6],si32> {
  %int1 = torch.constant.int 1
  %s = torch.constant.int 1
  %p = torch.constant.int 0
  %stride = torch.prim.ListConstruct %s, %s : (!torch.int, !torch.int) -> !torch.list<int>
  %padding = torch.prim.ListConstruct %p, %p : (!torch.int, !torch.int) -> !torch.list<int>
  %dilation = torch.prim.ListConstruct %int1, %int1 : (!torch.int, !torch.int) -> !torch.list<int>
  %none = torch.constant.none
  // CHECK: lower-out-dtype-invalid.mlir:[[@LINE+1]]: error: out_dtype(aten.conv2d.default): {{.*}}
  %0 = "fxc.out_dtype"(%x, %w, %none, %stride, %padding, %dilation, %int1) {op = "aten.conv2d.default", operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0>, out_dtype = si32} : (!torch.vtensor<[1,3,2,2],si8>, !torch.vtensor<[4,3,3,3],si8>, !torch.none, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int) -> !torch.vtensor<[1,4,6,6],si32>
  return %0 : !torch.vtensor<[1,4,6,6],si32>
}

// -----

// A result type eager's shape disagrees with.
func.func @wrong_result_shape(%x: !torch.vtensor<[1,3,8,8],si8>, %w: !torch.vtensor<[4,3,3,3],si8>) -> !torch.vtensor<[1,4,5,5],si32> {
  %int1 = torch.constant.int 1
  %s = torch.constant.int 1
  %p = torch.constant.int 0
  %stride = torch.prim.ListConstruct %s, %s : (!torch.int, !torch.int) -> !torch.list<int>
  %padding = torch.prim.ListConstruct %p, %p : (!torch.int, !torch.int) -> !torch.list<int>
  %dilation = torch.prim.ListConstruct %int1, %int1 : (!torch.int, !torch.int) -> !torch.list<int>
  %none = torch.constant.none
  // CHECK: lower-out-dtype-invalid.mlir:[[@LINE+1]]: error: out_dtype(aten.conv2d.default): {{.*}}
  %0 = "fxc.out_dtype"(%x, %w, %none, %stride, %padding, %dilation, %int1) {op = "aten.conv2d.default", operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0>, out_dtype = si32} : (!torch.vtensor<[1,3,8,8],si8>, !torch.vtensor<[4,3,3,3],si8>, !torch.none, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int) -> !torch.vtensor<[1,4,5,5],si32>
  return %0 : !torch.vtensor<[1,4,5,5],si32>
}
