import Foundation

extension Tokenizer {
    /// A `pattern` of `Split` and `Replace`: `{"String": "..."}` (literal) or `{"Regex": "..."}`.
    enum TextPattern: Sendable {
        case literal([Unicode.Scalar])
        case regex(RegexMatcher)

        init(json: JSONValue, component: String) throws(ConfigurationError) {
            if let literal = json["String"]?.string {
                self = .literal(Array(literal.unicodeScalars))
            } else if let pattern = json["Regex"]?.string {
                self = .regex(try RegexMatcher(pattern, component: component))
            } else {
                throw .invalid("\(component): pattern must be {\"String\": …} or {\"Regex\": …}")
            }
        }

        /// Non-overlapping matches, leftmost first, as scalar index ranges. Empty matches are dropped.
        func matches(in text: [Unicode.Scalar]) -> [Range<Int>] {
            switch self {
            case .literal(let needle):
                guard !needle.isEmpty, text.count >= needle.count else { return [] }
                var result: [Range<Int>] = []
                var i = 0
                let first = needle[0]
                while i + needle.count <= text.count {
                    if text[i] == first, text[i..<i + needle.count].elementsEqual(needle) {
                        result.append(i..<i + needle.count)
                        i += needle.count
                    } else {
                        i += 1
                    }
                }
                return result
            case .regex(let matcher):
                return matcher.matches(in: text)
            }
        }

        /// The text cut into (range, isMatch) pieces that cover it in order, as the reference's
        /// `Pattern::find_matches`; empty text gives one empty non-match.
        func pieces(of text: [Unicode.Scalar], invert: Bool = false) -> [(range: Range<Int>, isMatch: Bool)] {
            if text.isEmpty { return [(0..<0, false)] }
            var result: [(range: Range<Int>, isMatch: Bool)] = []
            var previous = 0
            for m in matches(in: text) {
                if previous != m.lowerBound { result.append((previous..<m.lowerBound, invert)) }
                result.append((m, !invert))
                previous = m.upperBound
            }
            if previous != text.count { result.append((previous..<text.count, invert)) }
            return result
        }
    }

    /// A compiled regular expression from a `tokenizer.json`, matched over Unicode scalars.
    ///
    /// The reference compiles these with Oniguruma; ICU (behind `NSRegularExpression`) accepts the same
    /// syntax for the patterns tokenizers use (`\p{L}`, `\p{N}`, `(?i:…)`, `(?!\S)`, `{1,3}`).
    final class RegexMatcher: @unchecked Sendable {
        // NSRegularExpression is immutable and documented as safe to use from several threads.
        private let regex: NSRegularExpression
        let pattern: String

        init(_ pattern: String, component: String) throws(ConfigurationError) {
            self.pattern = pattern
            do {
                regex = try NSRegularExpression(pattern: pattern, options: [])
            } catch {
                throw .invalid("\(component): invalid regex \(String(reflecting: pattern))")
            }
        }

        func matches(in text: [Unicode.Scalar]) -> [Range<Int>] {
            guard !text.isEmpty else { return [] }
            // UTF-16 offset -> scalar index, to map NSRange results back.
            var scalarIndex: [Int32] = []
            scalarIndex.reserveCapacity(text.count + 8)
            for (i, s) in text.enumerated() {
                scalarIndex.append(Int32(i))
                if s.value > 0xFFFF { scalarIndex.append(Int32(i)) }
            }
            scalarIndex.append(Int32(text.count))
            let string = text.string
            let utf16Count = scalarIndex.count - 1
            var result: [Range<Int>] = []
            for match in regex.matches(in: string, options: [], range: NSRange(location: 0, length: utf16Count)) {
                let r = match.range
                guard r.location != NSNotFound, r.length > 0 else { continue }
                let lower = Int(scalarIndex[r.location])
                let upper = Int(scalarIndex[r.location + r.length])
                if lower < upper { result.append(lower..<upper) }
            }
            return result
        }
    }
}
