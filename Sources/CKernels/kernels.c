#include "vj_kernels.h"

#include <string.h>

enum { NR = 16, MR = 6, KC = 384, MC = 96 };

size_t vj_packed_size(int k, int n) { return (size_t)((n + NR - 1) / NR) * NR * (size_t)k; }

void vj_pack_panels(const float *src, ptrdiff_t strideK, ptrdiff_t strideN, int k, int n, float *dst) {
    int panels = (n + NR - 1) / NR;
    for (int p = 0; p < panels; p++) {
        int j0 = p * NR, width = n - j0 < NR ? n - j0 : NR;
        float *panel = dst + (size_t)p * NR * k;
        for (int kk = 0; kk < k; kk++) {
            float *row = panel + (size_t)kk * NR;
            const float *s = src + kk * strideK + j0 * strideN;
            if (strideN == 1) {
                memcpy(row, s, sizeof(float) * width);
            } else {
                for (int j = 0; j < width; j++) row[j] = s[j * strideN];
            }
            for (int j = width; j < NR; j++) row[j] = 0;
        }
    }
}

#if defined(__x86_64__)
#include <immintrin.h>

int vj_kernels_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

/// One MR×NR tile: rows < MR or cols < NR write only the valid part (the loads of missing A rows repeat row 0).
__attribute__((target("avx2,fma"))) static void tile(int rows, int cols, int k, float alpha, const float *a,
                                                     ptrdiff_t lda, const float *b, float *c, ptrdiff_t ldc,
                                                     int accumulate) {
    const float *a0 = a, *a1 = rows > 1 ? a + lda : a, *a2 = rows > 2 ? a + 2 * lda : a;
    const float *a3 = rows > 3 ? a + 3 * lda : a, *a4 = rows > 4 ? a + 4 * lda : a, *a5 = rows > 5 ? a + 5 * lda : a;
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps(), c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps(), c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
    __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps(), c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
    for (int kk = 0; kk < k; kk++) {
        __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
        b += NR;
        __m256 x = _mm256_broadcast_ss(a0 + kk);
        c00 = _mm256_fmadd_ps(x, b0, c00); c01 = _mm256_fmadd_ps(x, b1, c01);
        x = _mm256_broadcast_ss(a1 + kk);
        c10 = _mm256_fmadd_ps(x, b0, c10); c11 = _mm256_fmadd_ps(x, b1, c11);
        x = _mm256_broadcast_ss(a2 + kk);
        c20 = _mm256_fmadd_ps(x, b0, c20); c21 = _mm256_fmadd_ps(x, b1, c21);
        x = _mm256_broadcast_ss(a3 + kk);
        c30 = _mm256_fmadd_ps(x, b0, c30); c31 = _mm256_fmadd_ps(x, b1, c31);
        x = _mm256_broadcast_ss(a4 + kk);
        c40 = _mm256_fmadd_ps(x, b0, c40); c41 = _mm256_fmadd_ps(x, b1, c41);
        x = _mm256_broadcast_ss(a5 + kk);
        c50 = _mm256_fmadd_ps(x, b0, c50); c51 = _mm256_fmadd_ps(x, b1, c51);
    }
    __m256 acc[MR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
    __m256 va = _mm256_set1_ps(alpha);
    if (cols == NR) {
        for (int r = 0; r < rows; r++) {
            float *out = c + r * ldc;
            __m256 y0 = _mm256_mul_ps(acc[r][0], va), y1 = _mm256_mul_ps(acc[r][1], va);
            if (accumulate) {
                y0 = _mm256_add_ps(y0, _mm256_loadu_ps(out));
                y1 = _mm256_add_ps(y1, _mm256_loadu_ps(out + 8));
            }
            _mm256_storeu_ps(out, y0);
            _mm256_storeu_ps(out + 8, y1);
        }
    } else {
        float buffer[NR];
        for (int r = 0; r < rows; r++) {
            float *out = c + r * ldc;
            _mm256_storeu_ps(buffer, _mm256_mul_ps(acc[r][0], va));
            _mm256_storeu_ps(buffer + 8, _mm256_mul_ps(acc[r][1], va));
            for (int j = 0; j < cols; j++) out[j] = accumulate ? out[j] + buffer[j] : buffer[j];
        }
    }
}

void vj_sgemm_packed(int m, int n, int k, float alpha, const float *a, ptrdiff_t lda, const float *packedB,
                     float *c, ptrdiff_t ldc, int accumulate) {
    int panels = (n + NR - 1) / NR;
    if (k == 0 && !accumulate) {  // an empty sum: C = 0
        for (int i = 0; i < m; i++) memset(c + i * ldc, 0, sizeof(float) * (size_t)n);
        return;
    }
    // k in steps of KC and rows in blocks of MC, so that a block of A (MC × KC) stays in L2; within it, one panel
    // step of B (KC × 16) stays in L1 while the row tiles pass over it.
    for (int k0 = 0; k0 < k; k0 += KC) {
        int kc = k - k0 < KC ? k - k0 : KC;
        int add = accumulate || k0 > 0;
        for (int i0 = 0; i0 < m; i0 += MC) {
            int i1 = i0 + MC < m ? i0 + MC : m;
            for (int p = 0; p < panels; p++) {
                int j0 = p * NR, cols = n - j0 < NR ? n - j0 : NR;
                const float *b = packedB + (size_t)p * NR * k + (size_t)k0 * NR;
                for (int i = i0; i < i1; i += MR) {
                    int rows = i1 - i < MR ? i1 - i : MR;
                    tile(rows, cols, kc, alpha, a + i * lda + k0, lda, b, c + i * ldc + j0, ldc, add);
                }
            }
        }
    }
}

#else

int vj_kernels_available(void) { return 0; }

void vj_sgemm_packed(int m, int n, int k, float alpha, const float *a, ptrdiff_t lda, const float *packedB,
                     float *c, ptrdiff_t ldc, int accumulate) {
    (void)m; (void)n; (void)k; (void)alpha; (void)a; (void)lda; (void)packedB; (void)c; (void)ldc; (void)accumulate;
    __builtin_trap();  // callers check vj_kernels_available() first
}

#endif
