// RUN: fxc-opt --pass-pipeline='builtin.module(fxc-nvvm-module-to-ptx)' %s | FileCheck %s

// Each NVVM gpu.module becomes a gpu.binary holding PTX for sm_90 (ISA 8.7),
// one .entry per kernel; libdevice is linked for the __nv_expf call.

// CHECK: func.func @main
// CHECK: gpu.launch_func @main_kernel::@main_kernel
// CHECK: gpu.binary @main_kernel {{ *}}[#gpu.object<#nvvm.target<chip = "sm_90", features = "+ptx87">, assembly = "{{.*}}.version 8.7{{.*}}.target sm_90\0A{{.*}}.visible .entry main_kernel(
// CHECK-NOT: call{{.*}}__nv_expf
// CHECK: gpu.binary @main_kernel_0 {{ *}}[#gpu.object<{{.*}}.target sm_90\0A{{.*}}.entry main_kernel(
module attributes {gpu.container_module} {
  func.func @main(%arg0: memref<4x8xf32>, %arg1: memref<8xf32>, %arg2: memref<4x8xf32>, %arg3: memref<4xf32>) {
    %c0 = arith.constant 0 : index
    %c4 = arith.constant 4 : index
    %c1 = arith.constant 1 : index
    %c8 = arith.constant 8 : index
    %c256 = arith.constant 256 : index
    gpu.launch_func  @main_kernel::@main_kernel blocks in (%c4, %c1, %c1) threads in (%c1, %c256, %c1)  args(%c1 : index, %c0 : index, %c256 : index, %c1 : index, %c0 : index, %c4 : index, %c8 : index, %arg0 : memref<4x8xf32>, %arg1 : memref<8xf32>, %arg2 : memref<4x8xf32>)
    gpu.launch_func  @main_kernel_0::@main_kernel blocks in (%c4, %c1, %c1) threads in (%c1, %c1, %c1)  args(%c1 : index, %c0 : index, %c1 : index, %c0 : index, %arg2 : memref<4x8xf32>, %arg3 : memref<4xf32>, %c8 : index)
    return
  }
  gpu.module @main_kernel [#nvvm.target<chip = "sm_90", features = "+ptx87">] {
    llvm.func @__nv_expf(f32) -> f32
    llvm.func @main_kernel(%arg0: i64, %arg1: i64, %arg2: i64, %arg3: i64, %arg4: i64, %arg5: i64, %arg6: i64, %arg7: !llvm.ptr, %arg8: !llvm.ptr, %arg9: !llvm.ptr) attributes {gpu.kernel, nvvm.kernel} {
      %0 = llvm.mlir.constant(8 : index) : i64
      %1 = nvvm.read.ptx.sreg.ctaid.x : i32
      %2 = llvm.sext %1 : i32 to i64
      %3 = nvvm.read.ptx.sreg.ctaid.y : i32
      %4 = llvm.sext %3 : i32 to i64
      %5 = nvvm.read.ptx.sreg.tid.x : i32
      %6 = llvm.sext %5 : i32 to i64
      %7 = nvvm.read.ptx.sreg.tid.y : i32
      %8 = llvm.sext %7 : i32 to i64
      %9 = llvm.mul %arg0, %2 overflow<nsw> : i64
      %10 = llvm.add %9, %arg1 : i64
      %11 = llvm.mul %arg2, %4 overflow<nsw> : i64
      %12 = llvm.add %11, %arg1 : i64
      %13 = llvm.mul %arg3, %6 overflow<nsw> : i64
      %14 = llvm.add %13, %arg4 : i64
      %15 = llvm.mul %arg3, %8 overflow<nsw> : i64
      %16 = llvm.add %15, %arg4 : i64
      %17 = llvm.add %14, %10 : i64
      %18 = llvm.add %16, %12 : i64
      %19 = llvm.mul %14, %arg3 : i64
      %20 = llvm.add %19, %10 : i64
      %21 = llvm.icmp "ult" %20, %arg5 : i64
      %22 = llvm.mul %16, %arg3 : i64
      %23 = llvm.add %22, %12 : i64
      %24 = llvm.icmp "ult" %23, %arg6 : i64
      %25 = llvm.and %21, %24 : i1
      llvm.cond_br %25, ^bb1, ^bb2
    ^bb1:  // pred: ^bb0
      %26 = llvm.mul %17, %0 overflow<nsw, nuw> : i64
      %27 = llvm.add %26, %18 overflow<nsw, nuw> : i64
      %28 = llvm.getelementptr inbounds|nuw %arg7[%27] : (!llvm.ptr, i64) -> !llvm.ptr, f32
      %29 = llvm.load %28 : !llvm.ptr -> f32
      %30 = llvm.getelementptr inbounds|nuw %arg8[%18] : (!llvm.ptr, i64) -> !llvm.ptr, f32
      %31 = llvm.load %30 : !llvm.ptr -> f32
      %32 = llvm.fmul %29, %31 : f32
      %33 = llvm.call @__nv_expf(%32) : (f32) -> f32
      %34 = llvm.mul %17, %0 overflow<nsw, nuw> : i64
      %35 = llvm.add %34, %18 overflow<nsw, nuw> : i64
      %36 = llvm.getelementptr inbounds|nuw %arg9[%35] : (!llvm.ptr, i64) -> !llvm.ptr, f32
      llvm.store %33, %36 : f32, !llvm.ptr
      llvm.br ^bb2
    ^bb2:  // 2 preds: ^bb0, ^bb1
      llvm.return
    }
  }
  gpu.module @main_kernel_0 [#nvvm.target<chip = "sm_90", features = "+ptx87">] {
    llvm.func @main_kernel(%arg0: i64, %arg1: i64, %arg2: i64, %arg3: i64, %arg4: !llvm.ptr, %arg5: !llvm.ptr, %arg6: i64) attributes {gpu.kernel, nvvm.kernel} {
      %0 = llvm.mlir.constant(8 : index) : i64
      %1 = nvvm.read.ptx.sreg.ctaid.x : i32
      %2 = llvm.sext %1 : i32 to i64
      %3 = nvvm.read.ptx.sreg.tid.x : i32
      %4 = llvm.sext %3 : i32 to i64
      %5 = llvm.mul %arg0, %2 overflow<nsw> : i64
      %6 = llvm.add %5, %arg1 : i64
      %7 = llvm.mul %arg2, %4 overflow<nsw> : i64
      %8 = llvm.add %7, %arg3 : i64
      %9 = llvm.add %8, %6 : i64
      llvm.br ^bb1(%arg1 : i64)
    ^bb1(%10: i64):  // 2 preds: ^bb0, ^bb2
      %11 = llvm.icmp "slt" %10, %arg6 : i64
      llvm.cond_br %11, ^bb2, ^bb3
    ^bb2:  // pred: ^bb1
      %12 = llvm.mul %9, %0 overflow<nsw, nuw> : i64
      %13 = llvm.add %12, %10 overflow<nsw, nuw> : i64
      %14 = llvm.getelementptr inbounds|nuw %arg4[%13] : (!llvm.ptr, i64) -> !llvm.ptr, f32
      %15 = llvm.load %14 : !llvm.ptr -> f32
      %16 = llvm.getelementptr inbounds|nuw %arg5[%9] : (!llvm.ptr, i64) -> !llvm.ptr, f32
      %17 = llvm.load %16 : !llvm.ptr -> f32
      %18 = llvm.fadd %15, %17 : f32
      %19 = llvm.getelementptr inbounds|nuw %arg5[%9] : (!llvm.ptr, i64) -> !llvm.ptr, f32
      llvm.store %18, %19 : f32, !llvm.ptr
      %20 = llvm.add %10, %arg2 : i64
      llvm.br ^bb1(%20 : i64)
    ^bb3:  // pred: ^bb1
      llvm.return
    }
  }
}
