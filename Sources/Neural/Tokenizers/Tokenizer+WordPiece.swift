extension Tokenizer {
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
}
