import Foundation

extension PythonJSON {
    /// The text of `json.dump(value, f, indent=2, sort_keys=True)` followed by `"\n"`, as `convert.py` writes
    /// `config.json`.
    ///
    /// With an indent, Python separates items with `","` at the end of the line and keys from values with `": "`;
    /// an empty list or object is `[]` or `{}` on one line. Keys sort by code point (Python's `str` order), strings
    /// are escaped as `ensure_ascii` does (`\"`, `\\`, `\n`, `\r`, `\t`, `\b`, `\f`, any other character outside
    /// space…tilde as lowercase `\u00e9`, astral characters as a surrogate pair), and floats are `repr(float)`.
    public func pythonDump() -> String {
        var out = ""
        write(to: &out, level: 0)
        out += "\n"
        return out
    }

    private func write(to out: inout String, level: Int) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .float(let d): out += Self.floatText(d)
        case .string(let s): writeJSONString(s, to: &out, asciiOnly: true)
        case .array(let items):
            guard !items.isEmpty else { out += "[]"; return }
            out += "["
            for (i, item) in items.enumerated() {
                out += i == 0 ? "\n" : ",\n"
                out += String(repeating: " ", count: 2 * (level + 1))
                item.write(to: &out, level: level + 1)
            }
            out += "\n" + String(repeating: " ", count: 2 * level) + "]"
        case .object(let members):
            guard !members.isEmpty else { out += "{}"; return }
            out += "{"
            for (i, member) in Self.sortedMembers(members).enumerated() {
                out += i == 0 ? "\n" : ",\n"
                out += String(repeating: " ", count: 2 * (level + 1))
                writeJSONString(member.key, to: &out, asciiOnly: true)
                out += ": "
                member.value.write(to: &out, level: level + 1)
            }
            out += "\n" + String(repeating: " ", count: 2 * level) + "}"
        }
    }

    /// Members sorted by key in code-point order, one per key (the last occurrence, as a Python `dict` keeps it).
    private static func sortedMembers(_ members: [(key: String, value: PythonJSON)]) -> [(key: String, value: PythonJSON)] {
        var last: [[UInt32]: Int] = [:]
        for (i, member) in members.enumerated() { last[member.key.unicodeScalars.map(\.value)] = i }
        return last.sorted { $0.key.lexicographicallyPrecedes($1.key) }.map { members[$0.value] }
    }

    /// `repr(float)` as `json` writes it: the shortest digits that read back as the same double, in fixed notation
    /// for decimal exponents −4…15 (`0.0001`, `500000.0`, `2.0`) and in exponent notation otherwise, with a sign and
    /// at least two exponent digits (`1e-05`, `1e+16`, `5e-324`); non-finite values as `NaN`, `Infinity`,
    /// `-Infinity`.
    public static func floatText(_ d: Double) -> String {
        if d.isNaN { return "NaN" }
        if d.isInfinite { return d < 0 ? "-Infinity" : "Infinity" }
        let sign = d.sign == .minus ? "-" : ""
        if d == 0 { return sign + "0.0" }
        let (digits, exponent) = shortestDigits(abs(d))
        // The value is 0.d₁d₂… × 10^point, as Python's float formatting counts it.
        let point = exponent + 1
        if point <= -4 || point > 16 {
            let mantissa = digits.count == 1 ? digits : digits.prefix(1) + "." + digits.dropFirst()
            let magnitude = String(abs(exponent))
            return sign + mantissa + "e" + (exponent < 0 ? "-" : "+")
                + (magnitude.count < 2 ? "0" + magnitude : magnitude)
        }
        if point <= 0 { return sign + "0." + String(repeating: "0", count: -point) + digits }
        if point >= digits.count { return sign + digits + String(repeating: "0", count: point - digits.count) + ".0" }
        return sign + digits.prefix(point) + "." + digits.dropFirst(point)
    }

    /// The shortest round-tripping decimal digits of a positive finite double (no leading or trailing zeros) and the
    /// decimal exponent of the first digit: `d₁.d₂d₃… × 10^exponent`. Swift's `description` already produces the
    /// shortest digits nearest the exact value, as Python's (David Gay's) mode-0 conversion does; only its layout
    /// differs, so it is taken apart here.
    static func shortestDigits(_ d: Double) -> (digits: String, exponent: Int) {
        let text = d.description
        let parts = text.split(separator: "e", maxSplits: 1)
        let mantissa = parts[0]
        let power = parts.count == 2 ? Int(parts[1])! : 0
        let pieces = mantissa.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let whole = pieces[0]
        let fraction = pieces.count == 2 ? pieces[1] : ""
        var all = Array(whole + fraction)
        // The first digit's exponent if `all` were read as whole.fraction: leading zeros move it down.
        var exponent = power + whole.count - 1
        while all.first == "0" {
            all.removeFirst()
            exponent -= 1
        }
        while all.last == "0" { all.removeLast() }
        return (String(all), exponent)
    }
}

/// A JSON string literal. With `asciiOnly`, as Python's `py_encode_basestring_ascii` (`json.dump`'s
/// `ensure_ascii`): each character either as itself (space…tilde but `"` and `\`), as a short escape, or as
/// `\uXXXX` in lowercase hex, astral characters as a surrogate pair. Without it, as `serde_json` (safetensors'
/// headers): the same escapes for `"`, `\` and control characters, everything else (non-ASCII included) as is.
func writeJSONString(_ s: String, to out: inout String, asciiOnly: Bool) {
    func hex4(_ v: UInt32) -> String {
        let digits = String(v, radix: 16)
        return "\\u" + String(repeating: "0", count: 4 - digits.count) + digits
    }
    out += "\""
    for scalar in s.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case "\u{08}": out += "\\b"
        case "\u{0C}": out += "\\f"
        case " "..."~": out.unicodeScalars.append(scalar)
        case _ where !asciiOnly && scalar.value >= 0x20: out.unicodeScalars.append(scalar)
        default:
            let v = scalar.value
            if v < 0x10000 {
                out += hex4(v)
            } else {
                let offset = v - 0x10000
                out += hex4(0xD800 + (offset >> 10)) + hex4(0xDC00 + (offset & 0x3FF))
            }
        }
    }
    out += "\""
}
