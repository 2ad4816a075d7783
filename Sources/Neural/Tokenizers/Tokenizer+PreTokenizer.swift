extension Tokenizer {
    /// The `pre_tokenizer` of a `tokenizer.json`: cuts normalised text into the pieces the model
    /// tokenizes one at a time (a piece never merges with its neighbours).
    indirect enum PreTokenizer: Sendable {
        /// Split on whitespace (removed), then isolate each punctuation character.
        case bert
        case split(TextPattern, SplitBehavior, invert: Bool)
        /// GPT-2's byte-to-unicode mapping, optionally after a leading space and GPT-2's own regex split.
        case byteLevel(addPrefixSpace: Bool, useRegex: Bool)
        /// `\w+|[^\w\s]+`, whitespace removed.
        case whitespace
        /// Split on whitespace, removed.
        case whitespaceSplit
        case sequence([PreTokenizer])

        /// What `Split` does with the delimiters it finds (the reference's `SplitDelimiterBehavior`).
        enum SplitBehavior: String, Sendable {
            case removed = "Removed"
            case isolated = "Isolated"
            case mergedWithPrevious = "MergedWithPrevious"
            case mergedWithNext = "MergedWithNext"
            case contiguous = "Contiguous"
        }

        static let gpt2Pattern = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#

        init(json: JSONValue) throws(ConfigurationError) {
            guard let type = json["type"]?.string else { throw .invalid("pre_tokenizer without a 'type'") }
            switch type {
            case "BertPreTokenizer":
                self = .bert
            case "Split":
                guard let pattern = json["pattern"], let behaviorName = json["behavior"]?.string else {
                    throw .invalid("pre_tokenizer Split needs 'pattern' and 'behavior'")
                }
                guard let behavior = SplitBehavior(rawValue: behaviorName) else {
                    throw .unsupported("unsupported pre_tokenizer Split behavior '\(behaviorName)'")
                }
                self = .split(try TextPattern(json: pattern, component: "pre_tokenizer Split"), behavior,
                              invert: json["invert"]?.bool ?? false)
            case "ByteLevel":
                self = .byteLevel(addPrefixSpace: json["add_prefix_space"]?.bool ?? true,
                                  useRegex: json["use_regex"]?.bool ?? true)
            case "Whitespace":
                self = .whitespace
            case "WhitespaceSplit":
                self = .whitespaceSplit
            case "Sequence":
                guard let items = json["pretokenizers"]?.array else {
                    throw .invalid("pre_tokenizer Sequence needs 'pretokenizers'")
                }
                var parts: [PreTokenizer] = []
                for item in items { parts.append(try PreTokenizer(json: item)) }
                self = .sequence(parts)
            default:
                throw .unsupported("unsupported pre_tokenizer type '\(type)'")
            }
        }

        /// Applies this pre-tokenizer to every piece; empty pieces are dropped, as the reference does.
        func preTokenize(_ pieces: [[Unicode.Scalar]]) -> [[Unicode.Scalar]] {
            switch self {
            case .sequence(let parts):
                return parts.reduce(pieces) { $1.preTokenize($0) }
            case .bert:
                return pieces.flatMap { piece in
                    Self.splitWhere(piece, behavior: .removed) { $0.properties.isWhitespace }
                        .flatMap { Self.splitWhere($0, behavior: .isolated, UnicodeTables.isBertPunctuation) }
                }
            case .whitespaceSplit:
                return pieces.flatMap { Self.splitWhere($0, behavior: .removed) { $0.properties.isWhitespace } }
            case .whitespace:
                return pieces.flatMap { Self.split($0, pattern: Self.wordPattern, behavior: .removed, invert: true) }
            case .split(let pattern, let behavior, let invert):
                return pieces.flatMap { Self.split($0, pattern: pattern, behavior: behavior, invert: invert) }
            case .byteLevel(let addPrefixSpace, let useRegex):
                return pieces.flatMap { piece -> [[Unicode.Scalar]] in
                    var piece = piece
                    if addPrefixSpace, piece.first != " " { piece.insert(" ", at: 0) }
                    let parts = useRegex
                        ? Self.split(piece, pattern: Self.gpt2, behavior: .isolated, invert: false)
                        : [piece]
                    return parts.map(ByteLevel.encode)
                }
            }
        }

        private static let gpt2 = TextPattern.regex(try! RegexMatcher(gpt2Pattern, component: "ByteLevel"))
        private static let wordPattern = TextPattern.regex(try! RegexMatcher(#"\w+|[^\w\s]+"#, component: "Whitespace"))

        /// Splits where `isDelimiter` holds, one delimiter character at a time.
        static func splitWhere(_ piece: [Unicode.Scalar], behavior: SplitBehavior,
                               _ isDelimiter: (Unicode.Scalar) -> Bool) -> [[Unicode.Scalar]] {
            var marks: [(range: Range<Int>, isMatch: Bool)] = []
            var start = 0
            for (i, c) in piece.enumerated() where isDelimiter(c) {
                if start < i { marks.append((start..<i, false)) }
                marks.append((i..<i + 1, true))
                start = i + 1
            }
            if start < piece.count { marks.append((start..<piece.count, false)) }
            return apply(behavior, to: marks, of: piece)
        }

        static func split(_ piece: [Unicode.Scalar], pattern: TextPattern, behavior: SplitBehavior,
                          invert: Bool) -> [[Unicode.Scalar]] {
            apply(behavior, to: pattern.pieces(of: piece, invert: invert), of: piece)
        }

        /// The reference's `NormalizedString::split`: combine (range, isMatch) marks per behaviour.
        private static func apply(_ behavior: SplitBehavior, to marks: [(range: Range<Int>, isMatch: Bool)],
                                  of piece: [Unicode.Scalar]) -> [[Unicode.Scalar]] {
            var kept: [Range<Int>] = []
            switch behavior {
            case .isolated:
                kept = marks.map(\.range)
            case .removed:
                kept = marks.filter { !$0.isMatch }.map(\.range)
            case .contiguous:
                var previousMatch = false
                for (i, m) in marks.enumerated() {
                    if i > 0, m.isMatch == previousMatch {
                        kept[kept.count - 1] = kept[kept.count - 1].lowerBound..<m.range.upperBound
                    } else {
                        kept.append(m.range)
                    }
                    previousMatch = m.isMatch
                }
            case .mergedWithPrevious:
                var previousMatch = false
                for m in marks {
                    if m.isMatch, !previousMatch, let last = kept.last {
                        kept[kept.count - 1] = last.lowerBound..<m.range.upperBound
                    } else {
                        kept.append(m.range)
                    }
                    previousMatch = m.isMatch
                }
            case .mergedWithNext:
                var previousMatch = false
                for m in marks.reversed() {
                    if m.isMatch, !previousMatch, let last = kept.last {
                        kept[kept.count - 1] = m.range.lowerBound..<last.upperBound
                    } else {
                        kept.append(m.range)
                    }
                    previousMatch = m.isMatch
                }
                kept.reverse()
            }
            return kept.compactMap { $0.isEmpty ? nil : Array(piece[$0]) }
        }
    }

    /// GPT-2's reversible byte <-> printable character mapping used by `ByteLevel`.
    enum ByteLevel {
        /// Byte value -> character: printable Latin-1 bytes map to themselves, the rest to U+0100 onwards.
        static let byteToScalar: [Unicode.Scalar] = {
            var table = [Unicode.Scalar](repeating: " ", count: 256)
            var next: UInt32 = 256
            for b in 0..<256 {
                if (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b) {
                    table[b] = Unicode.Scalar(UInt32(b))!
                } else {
                    table[b] = Unicode.Scalar(next)!
                    next += 1
                }
            }
            return table
        }()

        static let scalarToByte: [Unicode.Scalar: UInt8] = {
            var map: [Unicode.Scalar: UInt8] = [:]
            for (b, s) in byteToScalar.enumerated() { map[s] = UInt8(b) }
            return map
        }()

        static func encode(_ piece: [Unicode.Scalar]) -> [Unicode.Scalar] {
            var out: [Unicode.Scalar] = []
            out.reserveCapacity(piece.count * 2)
            for s in piece {
                for b in UTF8.encode(s)! { out.append(byteToScalar[Int(b)]) }
            }
            return out
        }
    }
}
