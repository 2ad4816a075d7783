import JEPA
import Media
import VectorIndex

/// Catalog: videos, segments and model identity in one LMDB environment; ingestion; query → moments.
public enum Catalog {}
