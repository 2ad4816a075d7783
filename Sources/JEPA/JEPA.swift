import Neural

/// JEPA: the VL-JEPA model (X-encoder, predictor, Y-encoder, heads) and the model bundle.
public enum JEPA {}
