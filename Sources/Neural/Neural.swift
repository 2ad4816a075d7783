import CBLAS

/// Neural: tensors over flat Float buffers, OpenBLAS GEMM, transformer kernels and safetensors.
public enum Neural {
    /// Threads OpenBLAS uses for each GEMM.
    public static var blasThreads: Int {
        get { Int(vj_blas_get_num_threads()) }
    }

    /// Caps OpenBLAS's thread pool (process-wide).
    public static func setBLASThreads(_ count: Int) {
        vj_blas_set_num_threads(Int32(max(1, count)))
    }
}
