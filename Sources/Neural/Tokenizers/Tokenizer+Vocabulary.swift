extension Tokenizer {
    /// A model's token -> id table, keyed by exact scalars (not by canonical equivalence) and with
    /// the reverse table for decoding.
    struct Vocabulary: Sendable {
        private let ids: [[Unicode.Scalar]: Int32]
        /// id -> token; ids in real files are dense, so an array indexed by id.
        private let tokens: [[Unicode.Scalar]?]

        init(json: JSONValue?, model: String) throws(ConfigurationError) {
            guard let members = json?.members else { throw .invalid("model \(model): 'vocab' must be an object") }
            var ids: [[Unicode.Scalar]: Int32] = [:]
            ids.reserveCapacity(members.count)
            var maxId = -1
            for (token, value) in members {
                guard let id = value.int, id >= 0, id <= Int(Int32.max) else {
                    throw .invalid("model \(model): vocabulary entry '\(token)' has no valid id")
                }
                ids[Array(token.unicodeScalars)] = Int32(id)
                maxId = max(maxId, id)
            }
            // Sparse ids would make the reverse array huge; real vocabularies number their tokens 0..<n.
            guard maxId < 4 * members.count + 1024 else {
                throw .invalid("model \(model): vocabulary ids are sparse (largest \(maxId) for \(members.count) tokens)")
            }
            var tokens = [[Unicode.Scalar]?](repeating: nil, count: maxId + 1)
            for (token, id) in ids { tokens[Int(id)] = token }
            self.ids = ids
            self.tokens = tokens
        }

        func id(_ token: [Unicode.Scalar]) -> Int32? { ids[token] }

        func token(_ id: Int32) -> [Unicode.Scalar]? {
            id >= 0 && Int(id) < tokens.count ? tokens[Int(id)] : nil
        }

        var count: Int { ids.count }
        /// One more than the largest id.
        var upperBound: Int { tokens.count }
    }
}
