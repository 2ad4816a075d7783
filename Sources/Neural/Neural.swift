import CBLAS
/// Neural: tensors over flat Float buffers, OpenBLAS GEMM, transformer kernels, safetensors and tokenizers.
public enum Neural {}
