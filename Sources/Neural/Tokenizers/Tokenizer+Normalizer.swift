extension Tokenizer {
    /// The `normalizer` of a `tokenizer.json`: rewrites text before pre-tokenization.
    indirect enum Normalizer: Sendable {
        /// BERT's basic cleaning (`BertNormalizer`), in the reference's order: clean text, space out
        /// CJK ideographs, strip accents (NFD, drop non-spacing marks), lower-case.
        case bert(cleanText: Bool, handleChineseChars: Bool, stripAccents: Bool, lowercase: Bool)
        case replace(TextPattern, with: [Unicode.Scalar])
        /// Prepends unless the text is empty.
        case prepend([Unicode.Scalar])
        case lowercase
        case strip(left: Bool, right: Bool)
        case unicode(UnicodeTables.Form)
        case sequence([Normalizer])

        init(json: JSONValue) throws(ConfigurationError) {
            guard let type = json["type"]?.string else { throw .invalid("normalizer without a 'type'") }
            switch type {
            case "BertNormalizer":
                let lowercase = json["lowercase"]?.bool ?? true
                self = .bert(
                    cleanText: json["clean_text"]?.bool ?? true,
                    handleChineseChars: json["handle_chinese_chars"]?.bool ?? true,
                    stripAccents: json["strip_accents"]?.bool ?? lowercase,
                    lowercase: lowercase)
            case "Replace":
                guard let pattern = json["pattern"], let content = json["content"]?.string else {
                    throw .invalid("normalizer Replace needs 'pattern' and 'content'")
                }
                self = .replace(try TextPattern(json: pattern, component: "normalizer Replace"),
                                with: Array(content.unicodeScalars))
            case "Prepend":
                guard let prepend = json["prepend"]?.string else { throw .invalid("normalizer Prepend needs 'prepend'") }
                self = .prepend(Array(prepend.unicodeScalars))
            case "Lowercase":
                self = .lowercase
            case "Strip":
                self = .strip(left: json["strip_left"]?.bool ?? true, right: json["strip_right"]?.bool ?? true)
            case "NFC": self = .unicode(.nfc)
            case "NFD": self = .unicode(.nfd)
            case "NFKC": self = .unicode(.nfkc)
            case "NFKD": self = .unicode(.nfkd)
            case "Sequence":
                guard let items = json["normalizers"]?.array else {
                    throw .invalid("normalizer Sequence needs 'normalizers'")
                }
                var parts: [Normalizer] = []
                for item in items { parts.append(try Normalizer(json: item)) }
                self = .sequence(parts)
            default:
                throw .unsupported("unsupported normalizer type '\(type)'")
            }
        }

        func normalize(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
            switch self {
            case .bert(let cleanText, let handleChineseChars, let stripAccents, let lowercase):
                var s = text
                if cleanText {
                    s = s.compactMap { c in
                        if c.value == 0 || c.value == 0xFFFD || UnicodeTables.isBertControl(c) { return nil }
                        return UnicodeTables.isBertWhitespace(c) ? " " : c
                    }
                }
                if handleChineseChars, s.contains(where: UnicodeTables.isChineseCharacter) {
                    var spaced: [Unicode.Scalar] = []
                    spaced.reserveCapacity(s.count + 16)
                    for c in s {
                        if UnicodeTables.isChineseCharacter(c) {
                            spaced.append(" ")
                            spaced.append(c)
                            spaced.append(" ")
                        } else {
                            spaced.append(c)
                        }
                    }
                    s = spaced
                }
                if stripAccents {
                    s = UnicodeTables.normalize(s, form: .nfd).filter { !UnicodeTables.isBertNonspacingMark($0) }
                }
                if lowercase { s = UnicodeTables.lowercase(s) }
                return s
            case .replace(let pattern, let content):
                let matches = pattern.matches(in: text)
                guard !matches.isEmpty else { return text }
                var out: [Unicode.Scalar] = []
                out.reserveCapacity(text.count)
                var previous = 0
                for m in matches {
                    out.append(contentsOf: text[previous..<m.lowerBound])
                    out.append(contentsOf: content)
                    previous = m.upperBound
                }
                out.append(contentsOf: text[previous...])
                return out
            case .prepend(let prefix):
                return text.isEmpty ? text : prefix + text
            case .lowercase:
                return UnicodeTables.lowercase(text)
            case .strip(let left, let right):
                var lower = 0
                var upper = text.count
                if left { while lower < upper, text[lower].properties.isWhitespace { lower += 1 } }
                if right { while upper > lower, text[upper - 1].properties.isWhitespace { upper -= 1 } }
                return Array(text[lower..<upper])
            case .unicode(let form):
                return UnicodeTables.normalize(text, form: form)
            case .sequence(let parts):
                return parts.reduce(text) { $1.normalize($0) }
            }
        }
    }
}
