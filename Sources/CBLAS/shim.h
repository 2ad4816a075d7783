// CBLAS: OpenBLAS's C interface. Only the Neural module imports this.
#ifndef VJ_CBLAS_SHIM_H
#define VJ_CBLAS_SHIM_H
#include <cblas.h>
#include <string.h>

/// Number of threads OpenBLAS will use (a function in OpenBLAS, declared here for Swift).
static inline int vj_blas_get_num_threads(void) { return openblas_get_num_threads(); }
/// Caps OpenBLAS's thread pool.
static inline void vj_blas_set_num_threads(int n) { openblas_set_num_threads(n); }

/// When OpenBLAS fell back to one of its generic kernel sets because it did not recognise the CPU (a new model
/// reports as "Prescott"), the core type this CPU can run instead: "SkylakeX" with AVX-512 (F, BW, VL, DQ),
/// "Haswell" with AVX2 and FMA; NULL when OpenBLAS's own choice stands. The compiler's CPU checks include the
/// operating system's support for the wider registers.
static inline const char *vj_blas_better_core(void) {
    const char *name = openblas_get_corename();
    if (name == NULL) return NULL;
    static const char *const generic[] = {"Prescott", "Core2", "Penryn", "Dunnington", "Nehalem", "Atom", "Sandybridge"};
    int fallback = 0;
    for (unsigned i = 0; i < sizeof generic / sizeof generic[0]; i++) {
        if (strcmp(name, generic[i]) == 0) fallback = 1;
    }
    if (!fallback) return NULL;
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl")
        && __builtin_cpu_supports("avx512dq")) return "SkylakeX";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
    return NULL;
}

/// The kernel set OpenBLAS picked when it loaded (e.g. "Haswell").
static inline const char *vj_blas_core_name(void) { return openblas_get_corename(); }
#endif
