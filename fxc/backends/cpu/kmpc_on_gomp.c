/* The part of the LLVM/Intel OpenMP ABI (__kmpc_*) that MLIR's OpenMP
 * translation emits for `omp.parallel` + static `omp.wsloop`, implemented on
 * GNU libgomp: the OpenMP runtime PyTorch itself loads and runs its threads on.
 *
 * Linked (hidden) into every program.so of the CPU backend, so fxc's parallel
 * loops run on PyTorch's thread pool: one team of threads in the process,
 * sized by torch.set_num_threads, instead of a second runtime whose spinning
 * threads compete with PyTorch's.
 *
 * OpenMPIRBuilder aggregates the captured values into one struct, so an
 * outlined region takes at most one argument after the two thread ids.
 */
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#define FXC_HIDDEN __attribute__((visibility("hidden")))

/* libgomp (PyTorch's). */
extern void GOMP_parallel(void (*fn)(void *), void *data, unsigned num_threads, unsigned flags);
extern void GOMP_barrier(void);
extern int omp_get_thread_num(void);
extern int omp_get_num_threads(void);

typedef struct ident ident_t;
typedef void (*fxc_microtask0)(int32_t *, int32_t *);
typedef void (*fxc_microtask1)(int32_t *, int32_t *, void *);
typedef void (*fxc_microtask2)(int32_t *, int32_t *, void *, void *);
typedef void (*fxc_microtask3)(int32_t *, int32_t *, void *, void *, void *);
typedef void (*fxc_microtask4)(int32_t *, int32_t *, void *, void *, void *, void *);

#define FXC_MAX_ARGS 4

struct fxc_fork {
  void *microtask;
  int32_t argc;
  void *args[FXC_MAX_ARGS];
};

static void fxc_run_microtask(void *data) {
  struct fxc_fork *f = (struct fxc_fork *)data;
  int32_t gtid = omp_get_thread_num(), btid = gtid;
  void **a = f->args;
  switch (f->argc) {
  case 0: ((fxc_microtask0)f->microtask)(&gtid, &btid); break;
  case 1: ((fxc_microtask1)f->microtask)(&gtid, &btid, a[0]); break;
  case 2: ((fxc_microtask2)f->microtask)(&gtid, &btid, a[0], a[1]); break;
  case 3: ((fxc_microtask3)f->microtask)(&gtid, &btid, a[0], a[1], a[2]); break;
  default: ((fxc_microtask4)f->microtask)(&gtid, &btid, a[0], a[1], a[2], a[3]); break;
  }
}

FXC_HIDDEN void __kmpc_fork_call(ident_t *loc, int32_t argc, void *microtask, ...) {
  (void)loc;
  if (argc < 0 || argc > FXC_MAX_ARGS) {
    /* Unreachable from OpenMPIRBuilder's aggregated arguments. */
    fprintf(stderr, "fxc: a parallel region with %d arguments (at most %d)\n", argc, FXC_MAX_ARGS);
    abort();
  }
  struct fxc_fork f = {microtask, argc, {0}};
  va_list ap;
  va_start(ap, microtask);
  for (int32_t i = 0; i < argc; ++i) f.args[i] = va_arg(ap, void *);
  va_end(ap);
  GOMP_parallel(fxc_run_microtask, &f, 0, 0);
}

FXC_HIDDEN int32_t __kmpc_global_thread_num(ident_t *loc) {
  (void)loc;
  return omp_get_thread_num();
}

FXC_HIDDEN void __kmpc_barrier(ident_t *loc, int32_t gtid) {
  (void)loc, (void)gtid;
  GOMP_barrier();
}

FXC_HIDDEN void __kmpc_for_static_fini(ident_t *loc, int32_t gtid) { (void)loc, (void)gtid; }

/* kmp_sch_static_chunked = 33, kmp_sch_static = 34 (libomp's kmp.h). */
enum { FXC_SCH_STATIC_CHUNKED = 33, FXC_SCH_STATIC = 34 };

/* The iterations [*plower, *pupper] (inclusive, step incr) of the calling
 * thread, as libomp's __kmp_for_static_init computes them: unchunked, a
 * balanced contiguous block per thread; chunked, round-robin chunks (the
 * generated code steps by *pstride). */
#define FXC_FOR_STATIC_INIT(NAME, T, UT, ST)                                                  \
  FXC_HIDDEN void NAME(ident_t *loc, int32_t gtid, int32_t schedtype, int32_t *plastiter,    \
                       T *plower, T *pupper, ST *pstride, ST incr, ST chunk) {                 \
    (void)loc, (void)gtid;                                                                     \
    UT nth = (UT)omp_get_num_threads(), tid = (UT)omp_get_thread_num();                       \
    if (incr > 0 ? *pupper < *plower : *plower < *pupper) { /* no iterations */             \
      if (plastiter) *plastiter = 0;                                                           \
      *pstride = incr;                                                                         \
      return;                                                                                  \
    }                                                                                          \
    UT tc = incr == 1 ? (UT)(*pupper - *plower) + 1                                            \
          : incr == -1 ? (UT)(*plower - *pupper) + 1                                           \
          : incr > 0 ? (UT)(*pupper - *plower) / (UT)incr + 1                                  \
                     : (UT)(*plower - *pupper) / (UT)(-incr) + 1;                              \
    if (schedtype == FXC_SCH_STATIC) {                                                         \
      if (nth == 1) {                                                                          \
        if (plastiter) *plastiter = 1;                                                         \
        *pstride = incr > 0 ? (ST)(*pupper - *plower + 1) : -(ST)(*plower - *pupper + 1);     \
        return;                                                                                \
      }                                                                                        \
      if (tc < nth) {                                                                          \
        if (tid < tc) *pupper = *plower = *plower + (T)(tid * incr);                          \
        else *plower = *pupper + (T)incr;                                                      \
        if (plastiter) *plastiter = (tid == tc - 1);                                           \
      } else {                                                                                 \
        UT small = tc / nth, extras = tc % nth;                                                \
        *plower += (T)(incr * (ST)(tid * small + (tid < extras ? tid : extras)));              \
        *pupper = *plower + (T)((ST)small * incr) - (T)(tid < extras ? 0 : incr);             \
        if (plastiter) *plastiter = (tid == nth - 1);                                          \
      }                                                                                        \
      *pstride = (ST)tc * incr;                                                                \
      return;                                                                                  \
    }                                                                                          \
    if (schedtype == FXC_SCH_STATIC_CHUNKED) {                                                 \
      if (chunk < 1) chunk = 1;                                                                \
      else if ((UT)chunk > tc) chunk = (ST)tc;                                                 \
      UT nchunks = tc / (UT)chunk + (tc % (UT)chunk ? 1 : 0);                                  \
      ST span = chunk * incr;                                                                  \
      *pstride = span * (ST)(nchunks < nth ? nchunks : nth);                                   \
      if (tid < nchunks) {                                                                     \
        *plower = *plower + (T)(span * (ST)tid);                                               \
        *pupper = *plower + (T)(span - incr);                                                  \
      } else {                                                                                 \
        *plower = *pupper + (T)(incr > 0 ? 1 : -1);                                            \
      }                                                                                        \
      if (plastiter) *plastiter = (tid == (nchunks - 1) % nth);                                \
      return;                                                                                  \
    }                                                                                          \
    fprintf(stderr, "fxc: OpenMP schedule %d is not supported (static only)\n", schedtype);   \
    abort();                                                                                   \
  }

FXC_FOR_STATIC_INIT(__kmpc_for_static_init_4, int32_t, uint32_t, int32_t)
FXC_FOR_STATIC_INIT(__kmpc_for_static_init_4u, uint32_t, uint32_t, int32_t)
FXC_FOR_STATIC_INIT(__kmpc_for_static_init_8, int64_t, uint64_t, int64_t)
FXC_FOR_STATIC_INIT(__kmpc_for_static_init_8u, uint64_t, uint64_t, int64_t)
