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
        guard head < order.count else { return nil }
        let path = order[head]
        head += 1
        members.remove(path)
        compact()
        return path
    }

    /// Drops `path`, and with `under`, everything below it as a directory.
    public mutating func remove(_ path: String, under: Bool = false) {
        let prefix = path.hasSuffix("/") ? path : path + "/"
        let drop = { (p: String) in p == path || (under && p.hasPrefix(prefix)) }
        members = members.filter { !drop($0) }
        order = order[head...].filter { !drop($0) }
        head = 0
    }

    /// Paths in queue order.
    public var paths: [String] { Array(order[head...]) }

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
