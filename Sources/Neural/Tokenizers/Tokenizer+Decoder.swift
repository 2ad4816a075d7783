extension Tokenizer {
    /// The `decoder`: turns tokens back into text.
    indirect enum Decoder: Sendable {
        /// Joins with spaces except before `prefix`-continued pieces; `cleanup` undoes BERT's spacing
        /// around punctuation and contractions.
        case wordPiece(prefix: String, cleanup: Bool)
        case byteLevel
        /// Replaces the end-of-word suffix with a space (nothing after the last token).
        case bpe(suffix: [Unicode.Scalar])
        case replace(TextPattern, with: [Unicode.Scalar])
        /// Runs of `<0xNN>` tokens become the bytes they spell (U+FFFD per byte if not valid UTF-8).
        case byteFallback
        case fuse
        case strip(content: Unicode.Scalar, start: Int, stop: Int)
        case sequence([Decoder])

        init(json: JSONValue) throws(ConfigurationError) {
            guard let type = json["type"]?.string else { throw .invalid("decoder without a 'type'") }
            switch type {
            case "WordPiece":
                self = .wordPiece(prefix: json["prefix"]?.string ?? "##", cleanup: json["cleanup"]?.bool ?? true)
            case "ByteLevel":
                self = .byteLevel
            case "BPEDecoder":
                self = .bpe(suffix: Array((json["suffix"]?.string ?? "</w>").unicodeScalars))
            case "Replace":
                guard let pattern = json["pattern"], let content = json["content"]?.string else {
                    throw .invalid("decoder Replace needs 'pattern' and 'content'")
                }
                self = .replace(try TextPattern(json: pattern, component: "decoder Replace"), with: Array(content.unicodeScalars))
            case "ByteFallback":
                self = .byteFallback
            case "Fuse":
                self = .fuse
            case "Strip":
                guard let content = json["content"]?.string?.unicodeScalars, content.count == 1 else {
                    throw .invalid("decoder Strip needs a one-character 'content'")
                }
                let start = json["start"]?.int ?? 0, stop = json["stop"]?.int ?? 0
                guard start >= 0, stop >= 0 else {
                    throw .invalid("decoder Strip: 'start' and 'stop' must not be negative (found \(start), \(stop))")
                }
                self = .strip(content: content.first!, start: start, stop: stop)
            case "Sequence":
                guard let items = json["decoders"]?.array else { throw .invalid("decoder Sequence needs 'decoders'") }
                var parts: [Decoder] = []
                for item in items { parts.append(try Decoder(json: item)) }
                self = .sequence(parts)
            default:
                throw .unsupported("unsupported decoder type '\(type)'")
            }
        }

        func decode(_ tokens: [String]) -> [String] {
            switch self {
            case .wordPiece(let prefix, let cleanup):
                return tokens.enumerated().map { i, token in
                    var t = token
                    if i != 0 { t = t.hasPrefixScalars(prefix) ? String(t.unicodeScalars.dropFirst(prefix.unicodeScalars.count)) : " " + t }
                    return cleanup ? Self.cleanup(t) : t
                }
            case .byteLevel:
                var bytes: [UInt8] = []
                for token in tokens {
                    let mapped = token.unicodeScalars.map { ByteLevel.scalarToByte[$0] }
                    if mapped.allSatisfy({ $0 != nil }) {
                        bytes += mapped.map { $0! }
                    } else {
                        bytes += Array(token.utf8)
                    }
                }
                return [String(decoding: bytes, as: UTF8.self)]
            case .bpe(let suffix):
                return tokens.enumerated().map { i, token in
                    let space: [Unicode.Scalar] = i == tokens.count - 1 ? [] : [" "]
                    return Normalizer.replace(.literal(suffix), with: space).normalize(Array(token.unicodeScalars)).string
                }
            case .replace(let pattern, let content):
                return tokens.map { Normalizer.replace(pattern, with: content).normalize(Array($0.unicodeScalars)).string }
            case .byteFallback:
                var out: [String] = []
                var pending: [UInt8] = []
                func flush() {
                    guard !pending.isEmpty else { return }
                    if let s = String(validating: pending, as: UTF8.self) {
                        out.append(s)
                    } else {
                        out += Array(repeating: "\u{FFFD}", count: pending.count)
                    }
                    pending.removeAll()
                }
                for token in tokens {
                    let u = Array(token.utf8)
                    if u.count == 6, u.starts(with: Array("<0x".utf8)), u[5] == UInt8(ascii: ">"),
                       let b = UInt8(String(decoding: u[3..<5], as: UTF8.self), radix: 16) {
                        pending.append(b)
                    } else {
                        flush()
                        out.append(token)
                    }
                }
                flush()
                return out
            case .fuse:
                return [tokens.joined()]
            case .strip(let content, let start, let stop):
                return tokens.map { token in
                    let s = Array(token.unicodeScalars)
                    var lower = 0
                    for i in 0..<min(start, s.count) {
                        if s[i] == content { lower = i + 1 } else { break }
                    }
                    var upper = s.count
                    for i in 0..<min(stop, s.count) {
                        let index = s.count - i - 1
                        if s[index] == content { upper = index } else { break }
                    }
                    return lower < upper ? Array(s[lower..<upper]).string : ""
                }
            case .sequence(let parts):
                return parts.reduce(tokens) { $1.decode($0) }
            }
        }

        private static func cleanup(_ s: String) -> String {
            guard s.contains(" ") else { return s }
            var t = Array(s.unicodeScalars)
            for (from, to) in [(" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"),
                               (" 'm", "'m"), (" do not", " don't"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")] {
                t = Normalizer.replace(.literal(Array(from.unicodeScalars)), with: Array(to.unicodeScalars)).normalize(t)
            }
            return t.string
        }
    }
}

extension String {
    /// `hasPrefix` by exact scalars (Swift's `hasPrefix` compares canonically equivalent text).
    func hasPrefixScalars(_ prefix: String) -> Bool {
        unicodeScalars.starts(with: prefix.unicodeScalars)
    }
}
