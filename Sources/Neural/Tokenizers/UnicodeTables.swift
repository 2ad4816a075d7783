import Foundation

/// Character classes as the `tokenizers` library computes them, so our ids match its ids.
///
/// `BertNormalizer` and `BertPreTokenizer` take general categories from the `unicode_categories`
/// crate, and NFD from `unicode-normalization-alignments`; both carry Unicode 8.0 tables. A code
/// point assigned later is neither a control character, punctuation nor a non-spacing mark for
/// them, and does not decompose. White space, lower-casing and regex classes use current tables.
/// `bert-chars.json` (written by Tools/goldens/tokenizers.py) pins all of this per code point.
enum UnicodeTables {
    /// Whether `scalar` was assigned by Unicode 8.0, the version of the reference's category tables.
    static func inBertTables(_ scalar: Unicode.Scalar) -> Bool {
        guard let age = scalar.properties.age else { return false }
        return age.major < 8 || (age.major == 8 && age.minor == 0)
    }

    /// General category as of Unicode 8.0, for the few code points re-categorised since.
    private static func bertCategory(_ scalar: Unicode.Scalar) -> Unicode.GeneralCategory? {
        switch scalar.value {
        case 0x1734, 0x1171E: return .nonspacingMark  // Mc in later versions
        case 0x111C9, 0x166D: return .otherPunctuation  // Mn / So since Unicode 8.0+
        case 0x1885, 0x1886: return .otherLetter  // MONGOLIAN LETTER ALI GALI BALUDA: Mn since 9.0
        case 0xA9BD: return .spacingMark  // JAVANESE CONSONANT SIGN KERET: Mn since 12.0
        default: break
        }
        guard inBertTables(scalar) else { return nil }
        return scalar.properties.generalCategory
    }

    /// `BertNormalizer`'s whitespace: tab, newline, carriage return, or Unicode White_Space.
    static func isBertWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "\t", "\n", "\r": true
        default: scalar.properties.isWhitespace
        }
    }

    /// `BertNormalizer`'s control characters (removed by `clean_text`): Cc, Cf, Co and Cs, except
    /// tab, newline and carriage return.
    static func isBertControl(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "\t", "\n", "\r": return false
        default: break
        }
        switch bertCategory(scalar) {
        case .control, .format, .privateUse, .surrogate: return true
        default: return false
        }
    }

    /// BERT's "Chinese characters": the CJK Unified Ideograph blocks the reference lists.
    static func isChineseCharacter(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F, 0x2B740...0x2B81F,
             0x2B920...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F:
            true
        default:
            false
        }
    }

    /// `BertPreTokenizer`'s punctuation: ASCII punctuation or a Unicode punctuation category (Pc, Pd,
    /// Pe, Pf, Pi, Po, Ps).
    static func isBertPunctuation(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.isASCII {
            let v = scalar.value
            return (0x21...0x2F).contains(v) || (0x3A...0x40).contains(v) || (0x5B...0x60).contains(v)
                || (0x7B...0x7E).contains(v)
        }
        switch bertCategory(scalar) {
        case .connectorPunctuation, .dashPunctuation, .closePunctuation, .finalPunctuation,
             .initialPunctuation, .otherPunctuation, .openPunctuation:
            return true
        default:
            return false
        }
    }

    /// Mn as of Unicode 8.0: what `strip_accents` removes after NFD.
    static func isBertNonspacingMark(_ scalar: Unicode.Scalar) -> Bool {
        bertCategory(scalar) == .nonspacingMark
    }

    /// NFD as the reference computes it: code points assigned after Unicode 8.0 stay as they are.
    static func bertNFD(_ scalars: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(scalars.count)
        var start = 0
        func flush(_ end: Int) {
            guard start < end else { return }
            if scalars[start..<end].allSatisfy(\.isASCII) {
                out.append(contentsOf: scalars[start..<end])
            } else {
                out.append(contentsOf: normalize(Array(scalars[start..<end]), form: .nfd))
            }
        }
        for (i, s) in scalars.enumerated() where !s.isASCII && !inBertTables(s) {
            flush(i)
            out.append(s)
            start = i + 1
        }
        flush(scalars.count)
        return out
    }

    enum Form: Sendable { case nfc, nfd, nfkc, nfkd }

    /// Unicode normalisation with Foundation's current tables.
    static func normalize(_ scalars: [Unicode.Scalar], form: Form) -> [Unicode.Scalar] {
        if scalars.allSatisfy(\.isASCII) { return scalars }
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        let string = String(view)
        let result: String
        switch form {
        case .nfc: result = string.precomposedStringWithCanonicalMapping
        case .nfd: result = string.decomposedStringWithCanonicalMapping
        case .nfkc: result = string.precomposedStringWithCompatibilityMapping
        case .nfkd: result = string.decomposedStringWithCompatibilityMapping
        }
        return Array(result.unicodeScalars)
    }

    /// Full lower-case mapping of each code point on its own (Rust's `char::to_lowercase`; no
    /// context such as final sigma).
    static func lowercase(_ scalars: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(scalars.count)
        for s in scalars {
            if s.isASCII {
                out.append(("A"..."Z").contains(s) ? Unicode.Scalar(s.value + 32)! : s)
            } else if s.properties.changesWhenLowercased {
                out.append(contentsOf: s.properties.lowercaseMapping.unicodeScalars)
            } else {
                out.append(s)
            }
        }
        return out
    }

    /// The `regex` crate's Unicode `\w`: Alphabetic, marks, Nd, Pc or Join_Control.
    static func isWordCharacter(_ scalar: Unicode.Scalar) -> Bool {
        let p = scalar.properties
        if p.isAlphabetic || p.isJoinControl { return true }
        switch p.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .connectorPunctuation: return true
        default: return false
        }
    }
}

extension Array where Element == Unicode.Scalar {
    /// The scalars as a `String` (exactly these scalars, no normalisation).
    var string: String {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: self)
        return String(view)
    }
}
