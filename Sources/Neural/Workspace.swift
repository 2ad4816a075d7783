/// Scratch buffers for one forward pass, grown on demand and reused across layers and calls.
///
/// One owner at a time: a workspace is not shared between threads.
public final class Workspace {
    private var buffers: [UnsafeMutablePointer<Float>] = []
    private var capacities: [Int] = []

    public init() {}

    deinit { for buffer in buffers { buffer.deallocate() } }

    /// Buffer number `slot` with room for at least `count` floats; its contents are unspecified.
    ///
    /// A pointer stays valid until the same slot is requested again with a larger count.
    public func buffer(_ slot: Int, count: Int) -> UnsafeMutablePointer<Float> {
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
    public func scratch(_ slot: Int, count: Int) -> UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(start: buffer(slot, count: count), count: count)
    }
}
