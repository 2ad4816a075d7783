extension Tokenizer {
    /// One entry of `added_tokens`: a string matched in the text before the model sees it.
    struct AddedToken: Sendable {
        var id: Int32
        var content: [Unicode.Scalar]
        var special: Bool
        /// Matched in the normalised text (else in the raw text, before normalisation).
        var normalized: Bool
        /// Swallow whitespace on the left / right of a match.
        var lstrip: Bool
        var rstrip: Bool
        /// Only match when not inside a word.
        var singleWord: Bool

        init(json: JSONValue) throws(ConfigurationError) {
            guard let id = json["id"]?.int, id >= 0, id <= Int(Int32.max), let content = json["content"]?.string else {
                throw .invalid("added_tokens entries need an 'id' and a 'content'")
            }
            self.id = Int32(id)
            self.content = Array(content.unicodeScalars)
            special = json["special"]?.bool ?? false
            normalized = json["normalized"]?.bool ?? !special
            lstrip = json["lstrip"]?.bool ?? false
            rstrip = json["rstrip"]?.bool ?? false
            singleWord = json["single_word"]?.bool ?? false
        }
    }

    /// A stretch of text after added tokens are cut out: either plain text or one added token.
    enum Segment {
        case text([Unicode.Scalar])
        case token(Int32)
    }

    /// Finds added tokens in text as the reference's `AddedVocabulary` does: leftmost-longest matches,
    /// scanning on after each match; a match that fails `single_word` is dropped, not shortened.
    struct AddedTokenMatcher: Sendable {
        private struct Pattern: Sendable {
            var scalars: [Unicode.Scalar]
            var token: AddedToken
        }

        /// Patterns by first scalar, longest first.
        private let byFirstScalar: [Unicode.Scalar: [Pattern]]

        var isEmpty: Bool { byFirstScalar.isEmpty }

        /// `patterns` pairs each token with the text to look for (its content, normalised if it is a
        /// normalised token).
        init(_ patterns: [(scalars: [Unicode.Scalar], token: AddedToken)]) {
            var table: [Unicode.Scalar: [Pattern]] = [:]
            for p in patterns where !p.scalars.isEmpty {
                table[p.scalars[0], default: []].append(Pattern(scalars: p.scalars, token: p.token))
            }
            for key in table.keys { table[key]!.sort { $0.scalars.count > $1.scalars.count } }
            byFirstScalar = table
        }

        func split(_ text: [Unicode.Scalar]) -> [Segment] {
            guard !byFirstScalar.isEmpty else { return text.isEmpty ? [] : [.text(text)] }
            var segments: [Segment] = []
            var emitted = 0  // end of the last segment emitted
            var i = 0
            while i < text.count {
                guard let candidates = byFirstScalar[text[i]],
                      let pattern = candidates.first(where: { p in
                          i + p.scalars.count <= text.count && text[i..<i + p.scalars.count].elementsEqual(p.scalars)
                      })
                else {
                    i += 1
                    continue
                }
                var start = i
                var stop = i + pattern.scalars.count
                i = stop
                let token = pattern.token
                if token.singleWord {
                    let startsWord = start == 0 || !UnicodeTables.isWordCharacter(text[start - 1])
                    let endsWord = stop == text.count || !UnicodeTables.isWordCharacter(text[stop])
                    if !startsWord || !endsWord { continue }
                }
                if token.lstrip {
                    var s = start
                    while s > emitted, text[s - 1].properties.isWhitespace { s -= 1 }
                    start = s
                }
                if token.rstrip {
                    while stop < text.count, text[stop].properties.isWhitespace { stop += 1 }
                    i = stop
                }
                if emitted < start { segments.append(.text(Array(text[emitted..<start]))) }
                segments.append(.token(token.id))
                emitted = stop
            }
            if emitted < text.count { segments.append(.text(Array(text[emitted...]))) }
            return segments
        }
    }
}
