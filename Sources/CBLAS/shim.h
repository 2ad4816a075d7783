// CBLAS: OpenBLAS's C interface. Only the Neural module imports this.
#ifndef VJ_CBLAS_SHIM_H
#define VJ_CBLAS_SHIM_H
#include <cblas.h>

/// Number of threads OpenBLAS will use (a function in OpenBLAS, declared here for Swift).
static inline int vj_blas_get_num_threads(void) { return openblas_get_num_threads(); }
/// Caps OpenBLAS's thread pool.
static inline void vj_blas_set_num_threads(int n) { openblas_set_num_threads(n); }
#endif
