/// A dense row-major tensor of `Float` over one flat array; the value type for model inputs and outputs.
public struct Tensor: Sendable, Equatable {
    public let shape: [Int]
    public var scalars: [Float]

    /// - Precondition: `scalars.count` equals the product of `shape`.
    public init(shape: [Int], scalars: [Float]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        precondition(shape.reduce(1, *) == scalars.count, "shape \(shape) does not hold \(scalars.count) scalars")
        self.shape = shape
        self.scalars = scalars
    }

    public init(zeros shape: [Int]) {
        self.init(shape: shape, scalars: [Float](repeating: 0, count: shape.reduce(1, *)))
    }

    public var count: Int { scalars.count }
    public var rank: Int { shape.count }

    /// Row `i` of a rank-2 tensor.
    public func row(_ i: Int) -> ArraySlice<Float> {
        precondition(rank == 2)
        return scalars[(i * shape[1])..<((i + 1) * shape[1])]
    }
}

/// An immutable weight tensor in Float32, either owned or pointing into a memory-mapped file it keeps alive.
///
/// The storage never changes after `init`, so instances are safe to share across threads.
public final class Parameter: @unchecked Sendable {
    public let shape: [Int]
    public let count: Int
    /// Row-major Float32 data, `count` elements.
    public let pointer: UnsafePointer<Float>
    private let owned: UnsafeMutablePointer<Float>?
    private let owner: AnyObject?

    /// Copies `scalars`.
    public init(shape: [Int], scalars: [Float]) {
        precondition(shape.reduce(1, *) == scalars.count, "shape \(shape) does not hold \(scalars.count) scalars")
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: max(1, scalars.count))
        scalars.withUnsafeBufferPointer { source in
            if let base = source.baseAddress { buffer.initialize(from: base, count: scalars.count) }
        }
        self.shape = shape
        self.count = scalars.count
        self.owned = buffer
        self.pointer = UnsafePointer(buffer)
        self.owner = nil
    }

    /// Takes ownership of `buffer` (allocated with `UnsafeMutablePointer<Float>.allocate`).
    init(shape: [Int], adopting buffer: UnsafeMutablePointer<Float>) {
        self.shape = shape
        self.count = shape.reduce(1, *)
        self.owned = buffer
        self.pointer = UnsafePointer(buffer)
        self.owner = nil
    }

    /// Points at Float32 data owned by `owner` (a mapped file), without copying.
    init(shape: [Int], borrowing pointer: UnsafePointer<Float>, owner: AnyObject) {
        self.shape = shape
        self.count = shape.reduce(1, *)
        self.owned = nil
        self.pointer = pointer
        self.owner = owner
    }

    deinit { owned?.deallocate() }

    /// The same data under another shape with the same element count (no copy).
    public func reshaped(_ shape: [Int]) -> Parameter {
        precondition(shape.reduce(1, *) == count, "cannot reshape \(self.shape) to \(shape)")
        return Parameter(shape: shape, borrowing: pointer, owner: self)
    }

    public var scalars: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }
    public var tensor: Tensor { Tensor(shape: shape, scalars: scalars) }
}
