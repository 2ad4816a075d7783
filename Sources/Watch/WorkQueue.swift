/// A first-in first-out queue of paths that holds each path at most once.
///
/// - Complexity: O(1) amortised `push` and `pop`; O(n) `remove`.
public struct WorkQueue: Sendable {
    private var order: [String] = []
    private var head = 0
    private var members: Set<String> = []

    public init() {}

    public var count: Int { members.count }
    public var isEmpty: Bool { members.isEmpty }
    public func contains(_ path: String) -> Bool { members.contains(path) }

    /// Appends `path` unless it is already queued; true when it was added.
    @discardableResult
    public mutating func push(_ path: String) -> Bool {
        guard members.insert(path).inserted else { return false }
        order.append(path)
        return true
    }

    /// The oldest queued path.
    public mutating func pop() -> String? {
        while head < order.count {
            let path = order[head]
            head += 1
            if members.remove(path) != nil {
                compact()
                return path
            }
        }
        compact()
        return nil
    }

    /// Drops `path`, and with `under`, everything below it as a directory.
    public mutating func remove(_ path: String, under: Bool = false) {
        let prefix = path.hasSuffix("/") ? path : path + "/"
        members = members.filter { $0 != path && !(under && $0.hasPrefix(prefix)) }
        compact()
    }

    /// Paths in queue order.
    public var paths: [String] { order[head...].filter { members.contains($0) } }

    private mutating func compact() {
        if members.isEmpty {
            order.removeAll(keepingCapacity: true)
            head = 0
        } else if head > 64 && head * 2 > order.count {
            order.removeFirst(head)
            head = 0
        }
    }
}
