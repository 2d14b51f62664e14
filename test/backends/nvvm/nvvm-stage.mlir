// RUN: fxc-opt --target nvvm --stage nvvm %s | FileCheck %s

// nvvm-attach-target{chip=sm_90 features=+ptx87} and convert-gpu-to-nvvm:
// kernels take bare pointers, block/thread ids are NVVM special registers,
// math calls libdevice.

// CHECK: gpu.module @main_kernel [#nvvm.target<chip = "sm_90", features = "+ptx87">]
// CHECK: llvm.func @__nv_expf(f32) -> f32
// CHECK: llvm.func @main_kernel({{.*}}!llvm.ptr{{.*}}) attributes {gpu.kernel, nvvm.kernel}
// CHECK: nvvm.read.ptx.sreg.ctaid.x
// CHECK: nvvm.read.ptx.sreg.tid.y
// CHECK: llvm.call @__nv_expf
#map = affine_map<()[s0, s1, s2] -> (s0 * s2 + s1)>
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
  gpu.module @main_kernel {
    gpu.func @main_kernel(%arg0: index, %arg1: index, %arg2: index, %arg3: index, %arg4: index, %arg5: index, %arg6: index, %arg7: memref<4x8xf32>, %arg8: memref<8xf32>, %arg9: memref<4x8xf32>) kernel {
      %block_id_x = gpu.block_id x
      %block_id_y = gpu.block_id y
      %thread_id_x = gpu.thread_id x
      %thread_id_y = gpu.thread_id y
      %0 = affine.apply #map()[%arg0, %arg1, %block_id_x]
      %1 = affine.apply #map()[%arg2, %arg1, %block_id_y]
      %2 = affine.apply #map()[%arg3, %arg4, %thread_id_x]
      %3 = affine.apply #map()[%arg3, %arg4, %thread_id_y]
      %4 = arith.addi %2, %0 : index
      %5 = arith.addi %3, %1 : index
      %6 = arith.muli %2, %arg3 : index
      %7 = arith.addi %6, %0 : index
      %8 = arith.cmpi ult, %7, %arg5 : index
      %9 = arith.muli %3, %arg3 : index
      %10 = arith.addi %9, %1 : index
      %11 = arith.cmpi ult, %10, %arg6 : index
      %12 = arith.andi %8, %11 : i1
      scf.if %12 {
        %13 = memref.load %arg7[%4, %5] : memref<4x8xf32>
        %14 = memref.load %arg8[%5] : memref<8xf32>
        %15 = arith.mulf %13, %14 : f32
        %16 = math.exp %15 : f32
        memref.store %16, %arg9[%4, %5] : memref<4x8xf32>
      }
      gpu.return
    }
  }
  gpu.module @main_kernel_0 {
    gpu.func @main_kernel(%arg0: index, %arg1: index, %arg2: index, %arg3: index, %arg4: memref<4x8xf32>, %arg5: memref<4xf32>, %arg6: index) kernel {
      %block_id_x = gpu.block_id x
      %thread_id_x = gpu.thread_id x
      %0 = affine.apply #map()[%arg0, %arg1, %block_id_x]
      %1 = affine.apply #map()[%arg2, %arg3, %thread_id_x]
      %2 = arith.addi %1, %0 : index
      scf.for %arg7 = %arg1 to %arg6 step %arg2 {
        %3 = memref.load %arg4[%2, %arg7] : memref<4x8xf32>
        %4 = memref.load %arg5[%2] : memref<4xf32>
        %5 = arith.addf %3, %4 : f32
        memref.store %5, %arg5[%2] : memref<4xf32>
      }
      gpu.return
    }
  }
}
