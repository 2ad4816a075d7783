extension Tokenizer {
    /// A parsed JSON document (RFC 8259), as `tokenizer.json` needs it.
    ///
    /// Our own parser rather than `JSONDecoder`: object keys stay in file order with their exact
    /// Unicode scalars (a Swift `Dictionary<String, _>` would merge canonically equivalent keys such
    /// as "é" and "e\u{301}", which are different vocabulary entries), and errors carry a byte offset.
    enum JSONValue: Sendable {
        case null
        case bool(Bool)
        case number(Double)
        case string(String)
        case array([JSONValue])
        case object([(key: String, value: JSONValue)])

        /// The member named `key` of an object; nil for a missing key, for JSON `null` and for non-objects.
        subscript(key: String) -> JSONValue? {
            guard case .object(let members) = self else { return nil }
            for member in members where member.key.unicodeScalars.elementsEqual(key.unicodeScalars) {
                if case .null = member.value { return nil }
                return member.value
            }
            return nil
        }

        var string: String? {
            if case .string(let s) = self { return s }
            return nil
        }

        var bool: Bool? {
            if case .bool(let b) = self { return b }
            return nil
        }

        /// An integral number that fits in `Int`.
        var int: Int? {
            guard case .number(let d) = self, d == d.rounded(), abs(d) < 9.0e15 else { return nil }
            return Int(d)
        }

        var array: [JSONValue]? {
            if case .array(let a) = self { return a }
            return nil
        }

        var members: [(key: String, value: JSONValue)]? {
            if case .object(let m) = self { return m }
            return nil
        }

        /// A short name of the value's kind, for error messages.
        var kind: String {
            switch self {
            case .null: "null"
            case .bool: "a boolean"
            case .number: "a number"
            case .string: "a string"
            case .array: "an array"
            case .object: "an object"
            }
        }
    }

    /// Why a JSON text could not be parsed: the cause and the byte offset where it was found.
    struct JSONSyntaxError: Error, Sendable {
        var offset: Int
        var reason: String
    }

    fileprivate struct JSONParser {
        let bytes: [UInt8]
        let maxDepth: Int
        var position = 0
        var depth = 0

        init(bytes: [UInt8], maxDepth: Int) {
            self.bytes = bytes
            self.maxDepth = maxDepth
        }

        mutating func parseDocument() throws(JSONSyntaxError) -> JSONValue {
            // A UTF-8 byte order mark is tolerated, as Python's json module does when reading files.
            if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { position = 3 }
            let value = try parseValue()
            skipWhitespace()
            if position != bytes.count { throw fail("unexpected data after the JSON value") }
            return value
        }

        func fail(_ reason: String) -> JSONSyntaxError {
            JSONSyntaxError(offset: position, reason: reason)
        }

        mutating func skipWhitespace() {
            while position < bytes.count {
                switch bytes[position] {
                case 0x20, 0x09, 0x0A, 0x0D: position += 1
                default: return
                }
            }
        }

        mutating func parseValue() throws(JSONSyntaxError) -> JSONValue {
            skipWhitespace()
            guard position < bytes.count else { throw fail("unexpected end of data") }
            switch bytes[position] {
            case UInt8(ascii: "{"): return try parseObject()
            case UInt8(ascii: "["): return try parseArray()
            case UInt8(ascii: "\""): return .string(try parseString())
            case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
            case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
            case UInt8(ascii: "n"): try expectLiteral("null"); return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
            default: throw fail("unexpected character")
            }
        }

        mutating func expectLiteral(_ literal: String) throws(JSONSyntaxError) {
            let count = literal.utf8.count
            guard position + count <= bytes.count, literal.utf8.elementsEqual(bytes[position..<position + count]) else {
                throw fail("invalid literal")
            }
            position += count
        }

        mutating func enter() throws(JSONSyntaxError) {
            depth += 1
            if depth > maxDepth { throw fail("nesting deeper than \(maxDepth) levels") }
        }

        mutating func parseObject() throws(JSONSyntaxError) -> JSONValue {
            try enter()
            defer { depth -= 1 }
            position += 1
            var members: [(key: String, value: JSONValue)] = []
            skipWhitespace()
            if position < bytes.count, bytes[position] == UInt8(ascii: "}") {
                position += 1
                return .object(members)
            }
            while true {
                skipWhitespace()
                guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else {
                    throw fail("expected a string key")
                }
                let key = try parseString()
                skipWhitespace()
                guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else { throw fail("expected ':'") }
                position += 1
                members.append((key, try parseValue()))
                skipWhitespace()
                guard position < bytes.count else { throw fail("unexpected end of data") }
                if bytes[position] == UInt8(ascii: ",") {
                    position += 1
                } else if bytes[position] == UInt8(ascii: "}") {
                    position += 1
                    return .object(members)
                } else {
                    throw fail("expected ',' or '}'")
                }
            }
        }

        mutating func parseArray() throws(JSONSyntaxError) -> JSONValue {
            try enter()
            defer { depth -= 1 }
            position += 1
            var elements: [JSONValue] = []
            skipWhitespace()
            if position < bytes.count, bytes[position] == UInt8(ascii: "]") {
                position += 1
                return .array(elements)
            }
            while true {
                elements.append(try parseValue())
                skipWhitespace()
                guard position < bytes.count else { throw fail("unexpected end of data") }
                if bytes[position] == UInt8(ascii: ",") {
                    position += 1
                } else if bytes[position] == UInt8(ascii: "]") {
                    position += 1
                    return .array(elements)
                } else {
                    throw fail("expected ',' or ']'")
                }
            }
        }

        mutating func parseNumber() throws(JSONSyntaxError) -> JSONValue {
            let start = position
            if bytes[position] == UInt8(ascii: "-") { position += 1 }
            func digits(_ p: inout Int, _ bytes: [UInt8]) -> Int {
                let s = p
                while p < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[p]) { p += 1 }
                return p - s
            }
            guard digits(&position, bytes) > 0 else { throw fail("invalid number") }
            if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
                position += 1
                guard digits(&position, bytes) > 0 else { throw fail("invalid number") }
            }
            if position < bytes.count, bytes[position] | 0x20 == UInt8(ascii: "e") {
                position += 1
                if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") {
                    position += 1
                }
                guard digits(&position, bytes) > 0 else { throw fail("invalid number") }
            }
            let text = String(decoding: bytes[start..<position], as: UTF8.self)
            guard let value = Double(text) else { throw fail("invalid number") }
            return .number(value)
        }

        mutating func parseHex4() throws(JSONSyntaxError) -> UInt32 {
            guard position + 4 <= bytes.count else { throw fail("unexpected end of data in \\u escape") }
            var value: UInt32 = 0
            for _ in 0..<4 {
                let b = bytes[position]
                let digit: UInt8
                switch b {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = b - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = b - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = b - UInt8(ascii: "A") + 10
                default: throw fail("invalid \\u escape")
                }
                value = value << 4 | UInt32(digit)
                position += 1
            }
            return value
        }

        mutating func parseString() throws(JSONSyntaxError) -> String {
            position += 1
            var utf8: [UInt8] = []
            var runStart = position
            while true {
                guard position < bytes.count else { throw fail("unterminated string") }
                let b = bytes[position]
                if b == UInt8(ascii: "\"") {
                    if utf8.isEmpty {
                        // No escapes: build the string straight from the input bytes.
                        let run = bytes[runStart..<position]
                        position += 1
                        guard let string = String(validating: run, as: UTF8.self) else { throw fail("invalid UTF-8 in string") }
                        return string
                    }
                    utf8.append(contentsOf: bytes[runStart..<position])
                    position += 1
                    break
                }
                if b < 0x20 { throw fail("control character in string") }
                if b != UInt8(ascii: "\\") {
                    position += 1
                    continue
                }
                utf8.append(contentsOf: bytes[runStart..<position])
                position += 1
                guard position < bytes.count else { throw fail("unterminated string") }
                let escape = bytes[position]
                position += 1
                switch escape {
                case UInt8(ascii: "\""): utf8.append(0x22)
                case UInt8(ascii: "\\"): utf8.append(0x5C)
                case UInt8(ascii: "/"): utf8.append(0x2F)
                case UInt8(ascii: "b"): utf8.append(0x08)
                case UInt8(ascii: "f"): utf8.append(0x0C)
                case UInt8(ascii: "n"): utf8.append(0x0A)
                case UInt8(ascii: "r"): utf8.append(0x0D)
                case UInt8(ascii: "t"): utf8.append(0x09)
                case UInt8(ascii: "u"):
                    var code = try parseHex4()
                    if (0xD800...0xDBFF).contains(code) {
                        // A high surrogate must be followed by an escaped low surrogate.
                        guard position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\\"),
                              bytes[position + 1] == UInt8(ascii: "u") else { throw fail("unpaired surrogate") }
                        position += 2
                        let low = try parseHex4()
                        guard (0xDC00...0xDFFF).contains(low) else { throw fail("unpaired surrogate") }
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00...0xDFFF).contains(code) {
                        throw fail("unpaired surrogate")
                    }
                    guard let scalar = Unicode.Scalar(code) else { throw fail("invalid \\u escape") }
                    utf8.append(contentsOf: UTF8.encode(scalar)!)
                default:
                    throw fail("invalid escape")
                }
                runStart = position
            }
            guard let string = String(validating: utf8, as: UTF8.self) else { throw fail("invalid UTF-8 in string") }
            return string
        }
    }
}

extension Tokenizer.JSONValue {
    /// Parses a complete JSON text; nesting deeper than `maxDepth` is an error rather than a stack overflow.
    static func parse(_ bytes: [UInt8], maxDepth: Int = 256) throws(Tokenizer.JSONSyntaxError) -> Self {
        var parser = Tokenizer.JSONParser(bytes: bytes, maxDepth: maxDepth)
        return try parser.parseDocument()
    }
}
