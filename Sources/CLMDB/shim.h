// CLMDB: the LMDB C API. Only the VectorIndex module imports this.
#ifndef VJ_CLMDB_SHIM_H
#define VJ_CLMDB_SHIM_H
#include <lmdb.h>

/// LMDB's flag macros import as Int32 while the calls take unsigned int; these give them typed.
static inline unsigned int vj_mdb_flags(int flags) { return (unsigned int)flags; }
#endif
