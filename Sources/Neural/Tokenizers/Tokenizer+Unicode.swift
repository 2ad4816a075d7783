import Foundation

extension Tokenizer {
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

        enum Form: Sendable { case nfc, nfd, nfkc, nfkd }

        /// Unicode normalisation as the reference computes it: its tables (the
        /// `unicode-normalization-alignments` crate) stop at Unicode 8.0, so later code points stay as
        /// they are (U+1FBF9 SEGMENTED DIGIT NINE is not "9", U+11938 does not decompose).
        static func normalize(_ scalars: [Unicode.Scalar], form: Form) -> [Unicode.Scalar] {
            if scalars.allSatisfy(\.isASCII) { return scalars }
            var out: [Unicode.Scalar] = []
            out.reserveCapacity(scalars.count)
            var start = 0
            for (i, s) in scalars.enumerated() where !s.isASCII && !inBertTables(s) {
                if start < i { out += normalizeKnown(Array(scalars[start..<i]), form: form) }
                out.append(s)
                start = i + 1
            }
            if start < scalars.count { out += normalizeKnown(Array(scalars[start...]), form: form) }
            return out
        }

        /// Normalisation with Foundation's tables, for code points the reference's tables know.
        private static func normalizeKnown(_ scalars: [Unicode.Scalar], form: Form) -> [Unicode.Scalar] {
            if scalars.allSatisfy(\.isASCII) { return scalars }
            let string = scalars.string
            switch form {
            case .nfd: return Array(string.decomposedStringWithCanonicalMapping.unicodeScalars)
            case .nfkd: return Array(string.decomposedStringWithCompatibilityMapping.unicodeScalars)
            // Composition runs on the decomposed text: Foundation's one-step NFKC leaves jamo from
            // half-width forms apart (U+FFBE U+FFC7 should become U+D5E4); NFKC is NFC of NFKD.
            case .nfc: return compose(Array(string.decomposedStringWithCanonicalMapping.unicodeScalars))
            case .nfkc: return compose(Array(string.decomposedStringWithCompatibilityMapping.unicodeScalars))
            }
        }

        /// Canonical composition of canonically decomposed text.
        ///
        /// Foundation's composition is wrong for Hangul (it composes archaic jamo, U+1113 U+1161 into
        /// U+D7A4, and leaves U+AC00 U+11A8 apart) and for some supplementary-plane starters (U+E01A0
        /// U+0301 into U+1EDA, as if U+01A0). So Hangul is composed here by the Unicode algorithm
        /// (section 3.12), Foundation composes the runs between jamo, and where its result does not
        /// decompose back to the input, the runs between supplementary-plane starters instead.
        private static func compose(_ decomposed: [Unicode.Scalar]) -> [Unicode.Scalar] {
            func isJamoOrSyllable(_ s: Unicode.Scalar) -> Bool {
                (0x1100...0x11FF).contains(s.value) || (0xAC00...0xD7A3).contains(s.value)
            }
            func composeRuns(splittingSupplementary: Bool) -> [Unicode.Scalar] {
                var out: [Unicode.Scalar] = []
                var run: [Unicode.Scalar] = []
                func flush() {
                    guard !run.isEmpty else { return }
                    out += run.allSatisfy(\.isASCII) ? run
                        : Array(run.string.precomposedStringWithCanonicalMapping.unicodeScalars)
                    run.removeAll()
                }
                for s in decomposed {
                    // A starter (combining class 0) ends every composition before it, so runs may break there.
                    if isJamoOrSyllable(s)
                        || (splittingSupplementary && s.value > 0xFFFF && s.properties.canonicalCombiningClass == .notReordered) {
                        flush()
                        out.append(s)
                    } else {
                        run.append(s)
                    }
                }
                flush()
                return out
            }
            var composed = composeRuns(splittingSupplementary: false)
            if Array(composed.string.decomposedStringWithCanonicalMapping.unicodeScalars) != decomposed {
                composed = composeRuns(splittingSupplementary: true)
            }
            return composeHangul(composed)
        }

        /// Hangul composition: L V -> LV syllable, LV T -> LVT syllable (modern jamo only).
        private static func composeHangul(_ scalars: [Unicode.Scalar]) -> [Unicode.Scalar] {
            guard scalars.contains(where: { (0x1161...0x11C2).contains($0.value) }) else { return scalars }
            var out: [Unicode.Scalar] = []
            out.reserveCapacity(scalars.count)
            for s in scalars {
                if let last = out.last {
                    let l = last.value
                    let v = s.value
                    if (0x1100...0x1112).contains(l), (0x1161...0x1175).contains(v) {
                        out[out.count - 1] = Unicode.Scalar(0xAC00 + ((l - 0x1100) * 21 + (v - 0x1161)) * 28)!
                        continue
                    }
                    if (0xAC00...0xD7A3).contains(l), (l - 0xAC00) % 28 == 0, (0x11A8...0x11C2).contains(v) {
                        out[out.count - 1] = Unicode.Scalar(l + (v - 0x11A7))!
                        continue
                    }
                }
                out.append(s)
            }
            return out
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
}

extension Array where Element == Unicode.Scalar {
    /// The scalars as a `String` (exactly these scalars, no normalisation).
    var string: String {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: self)
        return String(view)
    }
}
