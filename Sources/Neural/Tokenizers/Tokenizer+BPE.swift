import Foundation

extension Tokenizer {
    /// Byte-pair encoding: start from one symbol per character and apply merges lowest rank first.
    ///
    /// Follows the reference's `BPE` model: optional `continuing_subword_prefix` / `end_of_word_suffix`,
    /// unknown characters become `<0xNN>` byte tokens when `byte_fallback` is set, otherwise the unknown
    /// token (consecutive ones fused into one when `fuse_unk`); with `ignore_merges` a word that is
    /// itself in the vocabulary is emitted whole.
    final class BPE: Sendable {
        let vocab: Vocabulary
        /// (left id, right id) -> (rank, merged id).
        private let merges: [UInt64: Merge]
        let unknownId: Int32?
        let fuseUnknown: Bool
        let byteFallback: Bool
        let ignoreMerges: Bool
        let continuingSubwordPrefix: [Unicode.Scalar]?
        let endOfWordSuffix: [Unicode.Scalar]?
        /// `<0xNN>` ids by byte value, where the vocabulary has them.
        private let byteIds: [Int32?]
        private let cache = WordCache()

        struct Merge: Sendable {
            var rank: Int32
            var id: Int32
        }

        init(json: JSONValue) throws(ConfigurationError) {
            let vocab = try Vocabulary(json: json["vocab"], model: "BPE")
            self.vocab = vocab
            if let dropout = json["dropout"], case .number(let p) = dropout, p > 0 {
                throw .unsupported("unsupported BPE dropout \(p) (it makes tokenization random)")
            }
            if let unk = json["unk_token"]?.string {
                guard let id = vocab.id(Array(unk.unicodeScalars)) else {
                    throw .invalid("model BPE: unk_token '\(unk)' is not in the vocabulary")
                }
                unknownId = id
            } else {
                unknownId = nil
            }
            fuseUnknown = json["fuse_unk"]?.bool ?? false
            byteFallback = json["byte_fallback"]?.bool ?? false
            ignoreMerges = json["ignore_merges"]?.bool ?? false
            continuingSubwordPrefix = json["continuing_subword_prefix"]?.string.map { Array($0.unicodeScalars) }
            endOfWordSuffix = json["end_of_word_suffix"]?.string.map { Array($0.unicodeScalars) }

            guard let list = json["merges"]?.array else { throw .invalid("model BPE: 'merges' must be an array") }
            var merges: [UInt64: Merge] = [:]
            merges.reserveCapacity(list.count)
            for (rank, entry) in list.enumerated() {
                // "a b" (older files) or ["a", "b"].
                let pair: (String, String)
                if let line = entry.string {
                    let parts = line.split(separator: " ", omittingEmptySubsequences: false)
                    guard parts.count == 2 else { throw .invalid("model BPE: merge \(rank) '\(line)' is not two tokens") }
                    pair = (String(parts[0]), String(parts[1]))
                } else if let items = entry.array, items.count == 2, let a = items[0].string, let b = items[1].string {
                    pair = (a, b)
                } else {
                    throw .invalid("model BPE: merge \(rank) is neither \"a b\" nor [\"a\", \"b\"]")
                }
                let a = Array(pair.0.unicodeScalars)
                var b = Array(pair.1.unicodeScalars)
                guard let aId = vocab.id(a), let bId = vocab.id(b) else {
                    throw .invalid("model BPE: merge \(rank) '\(pair.0) \(pair.1)' uses a token not in the vocabulary")
                }
                if let prefix = continuingSubwordPrefix, b.starts(with: prefix) { b.removeFirst(prefix.count) }
                guard let merged = vocab.id(a + b) else {
                    throw .invalid("model BPE: merge \(rank) result '\((a + b).string)' is not in the vocabulary")
                }
                merges[Self.key(aId, bId)] = Merge(rank: Int32(rank), id: merged)
            }
            self.merges = merges

            byteIds = (0..<256).map { vocab.id(Array(Self.byteToken(UInt8($0)).unicodeScalars)) }
        }

        private static func key(_ a: Int32, _ b: Int32) -> UInt64 {
            UInt64(UInt32(bitPattern: a)) << 32 | UInt64(UInt32(bitPattern: b))
        }

        static func byteToken(_ b: UInt8) -> String {
            let hex = String(b, radix: 16, uppercase: true)
            return "<0x" + (hex.count == 1 ? "0" + hex : hex) + ">"
        }

        func tokenize(_ word: [Unicode.Scalar], into ids: inout [Int32]) {
            if ignoreMerges, let id = vocab.id(word) {
                ids.append(id)
                return
            }
            if let cached = cache[word] {
                ids.append(contentsOf: cached)
                return
            }
            let result = mergeWord(word)
            cache[word] = result
            ids.append(contentsOf: result)
        }

        /// One symbol of a word being merged: a doubly linked list threaded through an array.
        private struct Symbol {
            var id: Int32
            var prev: Int32
            var next: Int32
            /// Scalars covered; 0 marks a symbol merged into its left neighbour.
            var length: Int32
        }

        /// The reference's `merge_word` + `Word::merge_all`: a min-heap of candidate merges ordered by
        /// (rank, position); stale entries are skipped when popped.
        /// - Complexity: O(n log n) in the word's length n.
        private func mergeWord(_ word: [Unicode.Scalar]) -> [Int32] {
            var symbols: [Symbol] = []
            symbols.reserveCapacity(word.count)
            func add(_ id: Int32, _ length: Int32) {
                let n = Int32(symbols.count)
                if n > 0 { symbols[Int(n) - 1].next = n }
                symbols.append(Symbol(id: id, prev: n - 1, next: -1, length: length))
            }
            var pendingUnknown: (id: Int32, length: Int32)?
            var piece: [Unicode.Scalar] = []
            for (i, c) in word.enumerated() {
                piece.removeAll(keepingCapacity: true)
                if i > 0, let prefix = continuingSubwordPrefix { piece.append(contentsOf: prefix) }
                piece.append(c)
                if i == word.count - 1, let suffix = endOfWordSuffix { piece.append(contentsOf: suffix) }
                if let id = vocab.id(piece) {
                    if let unk = pendingUnknown {
                        add(unk.id, unk.length)
                        pendingUnknown = nil
                    }
                    add(id, 1)
                    continue
                }
                if byteFallback {
                    let bytes = piece.flatMap { Array(UTF8.encode($0)!) }
                    if bytes.allSatisfy({ byteIds[Int($0)] != nil }) {
                        // As the reference does, a pending unknown token stays pending across byte tokens.
                        for b in bytes { add(byteIds[Int(b)]!, 1) }
                        continue
                    }
                }
                if let unknownId {
                    if let unk = pendingUnknown {
                        if fuseUnknown {
                            pendingUnknown = (unk.id, unk.length + 1)
                        } else {
                            add(unk.id, unk.length)
                            pendingUnknown = (unknownId, 1)
                        }
                    } else {
                        pendingUnknown = (unknownId, 1)
                    }
                }
            }
            if let unk = pendingUnknown { add(unk.id, unk.length) }
            guard symbols.count > 1 else { return symbols.map(\.id) }

            var heap = MergeHeap()
            for i in 0..<symbols.count - 1 {
                if let m = merges[Self.key(symbols[i].id, symbols[i + 1].id)] {
                    heap.push(.init(rank: m.rank, position: Int32(i), id: m.id))
                }
            }
            while let top = heap.pop() {
                let pos = Int(top.position)
                guard symbols[pos].length != 0, symbols[pos].next != -1 else { continue }
                let nextPos = Int(symbols[pos].next)
                let right = symbols[nextPos]
                guard let m = merges[Self.key(symbols[pos].id, right.id)], m.id == top.id else { continue }
                symbols[pos].id = top.id
                symbols[pos].length += right.length
                symbols[pos].next = right.next
                symbols[nextPos].length = 0
                if right.next != -1 { symbols[Int(right.next)].prev = Int32(pos) }
                let current = symbols[pos]
                if current.prev >= 0, let m = merges[Self.key(symbols[Int(current.prev)].id, current.id)] {
                    heap.push(.init(rank: m.rank, position: current.prev, id: m.id))
                }
                if current.next != -1, let m = merges[Self.key(current.id, symbols[Int(current.next)].id)] {
                    heap.push(.init(rank: m.rank, position: Int32(pos), id: m.id))
                }
            }
            return symbols.compactMap { $0.length != 0 ? $0.id : nil }
        }
    }

    /// A binary min-heap of merge candidates ordered by (rank, position).
    fileprivate struct MergeHeap {
        struct Entry {
            var rank: Int32
            var position: Int32
            var id: Int32

            func precedes(_ other: Entry) -> Bool {
                rank != other.rank ? rank < other.rank : position < other.position
            }
        }

        private var entries: [Entry] = []

        mutating func push(_ entry: Entry) {
            entries.append(entry)
            var child = entries.count - 1
            while child > 0 {
                let parent = (child - 1) / 2
                guard entries[child].precedes(entries[parent]) else { break }
                entries.swapAt(child, parent)
                child = parent
            }
        }

        mutating func pop() -> Entry? {
            guard let last = entries.popLast() else { return nil }
            guard !entries.isEmpty else { return last }
            let top = entries[0]
            entries[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1
                guard left < entries.count else { break }
                var best = left
                if left + 1 < entries.count, entries[left + 1].precedes(entries[left]) { best = left + 1 }
                guard entries[best].precedes(entries[parent]) else { break }
                entries.swapAt(best, parent)
                parent = best
            }
            return top
        }
    }

    /// Results of `mergeWord` for words seen before; bounded, cleared when full.
    fileprivate final class WordCache: @unchecked Sendable {
        // All access goes through `lock`.
        private let lock = NSLock()
        private var words: [[Unicode.Scalar]: [Int32]] = [:]
        private static let capacity = 10_000
        /// Longer words are not cached (the reference's MAX_LENGTH).
        private static let maxWordLength = 256

        subscript(word: [Unicode.Scalar]) -> [Int32]? {
            get {
                guard word.count < Self.maxWordLength else { return nil }
                lock.lock()
                defer { lock.unlock() }
                return words[word]
            }
            set {
                guard word.count < Self.maxWordLength, let newValue else { return }
                lock.lock()
                defer { lock.unlock() }
                if words.count >= Self.capacity { words.removeAll(keepingCapacity: true) }
                words[word] = newValue
            }
        }
    }
}
