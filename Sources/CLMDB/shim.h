// CLMDB: the LMDB C API. Only the VectorIndex module imports this.
#ifndef VJ_CLMDB_SHIM_H
#define VJ_CLMDB_SHIM_H
#include <lmdb.h>

/// LMDB's flag macros import as Int32 while the calls take unsigned int; these give them typed.
static inline unsigned int vj_mdb_flags(int flags) { return (unsigned int)flags; }

/// Asks the CPU to start loading the cache line at `p` (read, all cache levels). HNSW search reads
/// vectors and links straight from the LMDB map and hides the memory latency with this, as hnswlib does.
static inline __attribute__((always_inline)) void vj_prefetch(const void *p) { __builtin_prefetch(p, 0, 3); }

/// CRC-32C with the SSE4.2 instruction, eight bytes at a time, on the raw register (the caller does the
/// inversions); `vj_crc32c_hw_available` says whether this CPU has it. The index checksums every vector it returns,
/// which the table-driven code made a third of a query's rescoring. Only VectorIndex calls these.
#if defined(__x86_64__)
#include <cpuid.h>
static inline int vj_crc32c_hw_available(void) {
    unsigned int a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    return (c & bit_SSE4_2) != 0;
}
__attribute__((target("sse4.2")))
static inline unsigned int vj_crc32c_hw(unsigned int crc, const void *data, unsigned long n) {
    const unsigned char *p = (const unsigned char *)data;
    unsigned long long c = crc;
    while (n >= 8) {
        unsigned long long word;
        __builtin_memcpy(&word, p, 8);
        c = __builtin_ia32_crc32di(c, word);
        p += 8;
        n -= 8;
    }
    unsigned int c32 = (unsigned int)c;
    while (n > 0) {
        c32 = __builtin_ia32_crc32qi(c32, *p++);
        n--;
    }
    return c32;
}
#else
static inline int vj_crc32c_hw_available(void) { return 0; }
static inline unsigned int vj_crc32c_hw(unsigned int crc, const void *data, unsigned long n) { return crc; }
#endif
#endif
