import Foundation

/// The version of vjsearch's JSON output: every object or line carries `"schema": 1`; keys are snake_case.
public enum JSONSchema {
    public static let version = 1
}

/// One JSON object per line: keys snake_case and sorted, `"schema": 1` first among equals (`JSONSchema`).
public enum JSONLines {
    public static func encode<T: Encodable>(_ value: T) -> String {
        String(decoding: data(value), as: UTF8.self)
    }

    /// The same as UTF-8 bytes (for HTTP bodies).
    public static func data<T: Encodable>(_ value: T) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Swift's camelCase property names become snake_case here, once for every command.
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return (try? encoder.encode(Versioned(value: value))) ?? Data("{}".utf8)
    }

    /// `value`'s keys with `schema` added (every value printed is an object).
    private struct Versioned<Value: Encodable>: Encodable {
        var value: Value

        enum Key: String, CodingKey { case schema }

        func encode(to encoder: any Encoder) throws {
            try value.encode(to: encoder)
            var c = encoder.container(keyedBy: Key.self)
            try c.encode(JSONSchema.version, forKey: .schema)
        }
    }
}

/// One JSON object with the keys of both values: a record with a few keys added (a moment with its rank, the
/// library's status with the daemon's). Both must encode as keyed objects, with no key in common.
public struct MergedJSON<Base: Encodable, Extra: Encodable>: Encodable {
    public var base: Base
    public var extra: Extra

    public init(_ base: Base, _ extra: Extra) {
        self.base = base
        self.extra = extra
    }

    public func encode(to encoder: any Encoder) throws {
        try base.encode(to: encoder)
        try extra.encode(to: encoder)
    }
}

extension MergedJSON: Sendable where Base: Sendable, Extra: Sendable {}
