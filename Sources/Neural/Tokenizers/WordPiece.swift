/// WordPiece (BERT): greedy longest-match-first over each pre-tokenized word.
///
/// Pieces after the first carry `continuingSubwordPrefix` ("##"). A word longer than
/// `maxInputCharsPerWord` scalars, or one that cannot be covered by vocabulary entries, becomes a
/// single unknown token.
struct WordPiece: Sendable {
    let vocab: Vocabulary
    let unknownId: Int32
    let continuingSubwordPrefix: [Unicode.Scalar]
    let maxInputCharsPerWord: Int

    init(json: JSONValue) throws(ConfigurationError) {
        vocab = try Vocabulary(json: json["vocab"], model: "WordPiece")
        let unk = json["unk_token"]?.string ?? "[UNK]"
        guard let unknownId = vocab.id(Array(unk.unicodeScalars)) else {
            throw .invalid("model WordPiece: unk_token '\(unk)' is not in the vocabulary")
        }
        self.unknownId = unknownId
        continuingSubwordPrefix = Array((json["continuing_subword_prefix"]?.string ?? "##").unicodeScalars)
        maxInputCharsPerWord = json["max_input_chars_per_word"]?.int ?? 100
    }

    func tokenize(_ word: [Unicode.Scalar], into ids: inout [Int32]) {
        if word.count > maxInputCharsPerWord {
            ids.append(unknownId)
            return
        }
        let first = ids.count
        var start = 0
        var candidate = continuingSubwordPrefix
        while start < word.count {
            var end = word.count
            var found: Int32?
            while start < end {
                candidate.removeAll(keepingCapacity: true)
                if start > 0 { candidate.append(contentsOf: continuingSubwordPrefix) }
                candidate.append(contentsOf: word[start..<end])
                if let id = vocab.id(candidate) {
                    found = id
                    break
                }
                end -= 1
            }
            guard let id = found else {
                ids.removeSubrange(first...)
                ids.append(unknownId)
                return
            }
            ids.append(id)
            start = end
        }
    }
}

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
