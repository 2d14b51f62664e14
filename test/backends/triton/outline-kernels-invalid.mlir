// RUN: not fxc-opt %s --fxc-triton-outline-kernels 2>&1 | FileCheck %s

// A size the backend cannot follow is a located error, not a guess.

func.func @main(%arg0: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %c0 = arith.constant 0 : index
  %dim = tensor.dim %arg0, %c0 : tensor<?x8xf32>
  %0 = tensor.empty(%dim) : tensor<?x8xf32>
  // CHECK: error{{.*}}does not know the size of argument 0
  %1 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%arg0 : tensor<?x8xf32>) outs(%0 : tensor<?x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %2 = math.exp %in : f32
    linalg.yield %2 : f32
  } -> tensor<?x8xf32>
  return %1 : tensor<?x8xf32>
}
