import CLMDB
/// VectorIndex: HNSW over LMDB. Ids are UInt64, vectors are Float of a fixed dimension; knows nothing about video.
public enum VectorIndexModule {}
