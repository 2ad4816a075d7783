/// Scratch buffers for one forward pass, grown on demand and reused across layers and calls.
///
/// One owner at a time: a workspace is not shared between threads.
public final class Workspace {
    private var buffers: [UnsafeMutablePointer<Float>] = []
    private var capacities: [Int] = []

    public init() {}

    deinit { for buffer in buffers { buffer.deallocate() } }

    /// Buffer `slot` with room for at least `count` floats; its contents are unspecified.
    ///
    /// A pointer stays valid until the same slot is requested again with a larger count.
    public func buffer(_ role: Slot, count: Int) -> UnsafeMutablePointer<Float> {
        let slot = role.rawValue
        while buffers.count <= slot {
            buffers.append(.allocate(capacity: 16))
            capacities.append(16)
        }
        if capacities[slot] < count {
            buffers[slot].deallocate()
            let capacity = max(count, capacities[slot] * 3 / 2)
            buffers[slot] = .allocate(capacity: capacity)
            capacities[slot] = capacity
        }
        return buffers[slot]
    }

    /// `buffer(slot, count:)` as a buffer pointer of exactly `count` floats.
    public func scratch(_ slot: Slot, count: Int) -> UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(start: buffer(slot, count: count), count: count)
    }

    /// What each buffer holds: the one contract between the networks that share a workspace.
    ///
    /// A network leaves its output in `residual`, so a caller must be done with it before the next network runs
    /// (the predictor reads the X-encoder's tokens from a `Tensor` copy, not from here). The block buffers are
    /// reused by every layer of every network; `pooled` and `pooledNext` hold rows after pooling (the predictor's
    /// mean, the text head's dense layers), which no block touches.
    public enum Slot: Int, CaseIterable, Sendable {
        /// The token stream [rows × width], updated in place by each layer.
        case residual
        /// A normed copy of the stream or the MLP's hidden layer (before the first ViT layer: the patches).
        case hidden
        /// Queries (the ViT's fused query, key and value columns), keys and values.
        case query, key, value
        /// Attention output, before the output projection.
        case attended
        /// A gated MLP's gate and up projections.
        case gate, up
        /// The attention kernel's per-thread scratch.
        case scores
        case pooled, pooledNext
    }
}
