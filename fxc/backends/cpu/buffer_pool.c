/* The allocation functions of fxc's compiled CPU code: a pool of large buffers.
 *
 * finalize-memref-to-llvm{use-generic-functions=true} makes memref.alloc and
 * memref.dealloc call _mlir_memref_to_llvm_{alloc,aligned_alloc,free}; these
 * are they, linked (hidden) into every program.so.  A program allocates its
 * intermediate buffers afresh at every call.  Large ones come from mmap or a
 * heap top that glibc trims (worker threads' arenas most of all), so every
 * call page-faulted and zeroed them again: 3,000 faults (12 MB) per call of
 * a transformer layer, half its time when other work ran in between.
 *
 * So buffers of at least 64 KiB are rounded up to a power of two (a size
 * class) and, when freed, kept on their class's list for the next
 * allocation of that class instead of going back to libc; at most
 * FXC_POOL_CAP bytes are kept (beyond that they are freed).  Every pointer
 * is a genuine libc allocation: a buffer handed to PyTorch (a result whose
 * size the code computed) is freed by PyTorch with free(), and a buffer of
 * PyTorch's that compiled code frees joins the pool only if 64-byte
 * aligned.  One mutex guards the lists: allocations are rare beside the
 * work on them, and any thread (OpenMP workers too) may allocate.
 */
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#define FXC_HIDDEN __attribute__((visibility("hidden")))
#define FXC_POOL_MIN_SHIFT 16 /* classes: 64 KiB << c */
#define FXC_POOL_CLASSES 16   /* up to 2 GiB */
#define FXC_POOL_ALIGN 64
#define FXC_POOL_CAP ((size_t)1 << 30)

static void *pool[FXC_POOL_CLASSES];
static size_t pooled_bytes;
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;

static size_t class_size(int c) { return (size_t)1 << (FXC_POOL_MIN_SHIFT + c); }

/* The class a request of n bytes takes, or -1 (small or huge: plain libc). */
static int class_of_request(size_t n) {
  if (n < class_size(0)) return -1;
  for (int c = 0; c < FXC_POOL_CLASSES; ++c)
    if (class_size(c) >= n) return c;
  return -1;
}

static void *pooled_alloc(size_t n, size_t align) {
  int c = align <= FXC_POOL_ALIGN ? class_of_request(n) : -1;
  if (c < 0) {
    size_t a = align < sizeof(void *) ? sizeof(void *) : align;
    return aligned_alloc(a, (n + a - 1) / a * a);
  }
  pthread_mutex_lock(&pool_lock);
  void *p = pool[c];
  if (p) {
    pool[c] = *(void **)p;
    pooled_bytes -= class_size(c);
  }
  pthread_mutex_unlock(&pool_lock);
  return p ? p : aligned_alloc(FXC_POOL_ALIGN, class_size(c));
}

FXC_HIDDEN void *_mlir_memref_to_llvm_alloc(size_t n) { return pooled_alloc(n, 16); }

FXC_HIDDEN void *_mlir_memref_to_llvm_aligned_alloc(size_t align, size_t n) { return pooled_alloc(n, align); }

FXC_HIDDEN void _mlir_memref_to_llvm_free(void *p) {
  if (!p) return;
  size_t usable = malloc_usable_size(p);
  int c = -1;
  for (int k = FXC_POOL_CLASSES - 1; k >= 0; --k)
    if (class_size(k) <= usable) { c = k; break; }
  if (c >= 0 && (uintptr_t)p % FXC_POOL_ALIGN == 0) {
    pthread_mutex_lock(&pool_lock);
    int keep = pooled_bytes + class_size(c) <= FXC_POOL_CAP;
    if (keep) {
      *(void **)p = pool[c];
      pool[c] = p;
      pooled_bytes += class_size(c);
    }
    pthread_mutex_unlock(&pool_lock);
    if (keep) return;
  }
  free(p);
}
