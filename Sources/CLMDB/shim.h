// CLMDB: the LMDB C API. Only the VectorIndex module imports this.
#ifndef VJ_CLMDB_SHIM_H
#define VJ_CLMDB_SHIM_H
#include <lmdb.h>

/// LMDB's flag macros import as Int32 while the calls take unsigned int; these give them typed.
static inline unsigned int vj_mdb_flags(int flags) { return (unsigned int)flags; }

/// Asks the CPU to start loading the cache line at `p` (read, all cache levels). HNSW search reads
/// vectors and links straight from the LMDB map and hides the memory latency with this, as hnswlib does.
static inline __attribute__((always_inline)) void vj_prefetch(const void *p) { __builtin_prefetch(p, 0, 3); }
#endif
