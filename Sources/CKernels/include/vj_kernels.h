#ifndef VJ_KERNELS_H
#define VJ_KERNELS_H

// Hand-written single-precision GEMM for the two products inside attention, where OpenBLAS repacks the same
// keys and values for every block of queries and its small-k / small-n shapes run at about half its peak.
//
// B is packed once into panels of 16 columns: panel p holds rows 0..<K of columns 16p..<16p+16, row-major,
// zero-padded past the last column. Every query block then reuses the packed keys (Q Kᵀ) and values (P V).
// The AVX2/FMA kernel computes 6×16 tiles of C in registers; `vj_kernels_available` says whether this CPU has it.

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// 1 when the packed GEMM can run on this CPU (x86-64 with AVX2 and FMA), else 0.
int vj_kernels_available(void);

/// Floats needed to pack a K×N matrix into panels of 16 columns.
size_t vj_packed_size(int k, int n);

/// Packs B (K×N), whose element (k, j) is src[k * strideK + j * strideN], into 16-column panels at dst.
void vj_pack_panels(const float *src, ptrdiff_t strideK, ptrdiff_t strideN, int k, int n, float *dst);

/// C[M×N] = alpha · A[M×K] · B (accumulate = 0), or C += alpha · A · B (accumulate = 1).
/// A is row-major with leading dimension lda; B is packed by vj_pack_panels; C is row-major with leading dimension ldc.
/// Requires vj_kernels_available().
void vj_sgemm_packed(int m, int n, int k, float alpha, const float *a, ptrdiff_t lda, const float *packedB,
                     float *c, ptrdiff_t ldc, int accumulate);

#ifdef __cplusplus
}
#endif

#endif
