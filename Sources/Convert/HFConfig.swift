import Foundation
import Neural

/// Tensor names in the order transformers' `named_parameters()` lists them, each with its shape.
typealias ExpectedShapes = [(name: String, shape: [Int])]

/// A Hugging Face `config.json`, read as `json.load` reads it, with accessors that fill in transformers' defaults
/// for missing keys and refuse values of the wrong type. Every error names the file.
struct HFConfigFile {
    let path: String
    let json: PythonJSON

    /// The largest size accepted for any dimension: every shape product of two of them fits in an `Int`, and no real
    /// model comes near (Gemma 3's vocabulary is 262,208).
    static let maximumDimension = 100_000_000

    /// Reads `folder/config.json`.
    /// - Throws: `ConvertError` when the file is missing, unreadable, not JSON or not a JSON object.
    init(folder: URL) throws(ConvertError) {
        path = folder.appendingPathComponent("config.json").path
        json = try Self.read(path: path)
    }

    /// A JSON object file, as `convert.py`'s `read_json` reads it.
    static func read(path: String) throws(ConvertError) -> PythonJSON {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
            throw ConvertError(path: path, reason: "not found")
        }
        let data: Data
        do {
            data = try MappedFile.contents(path: path)
        } catch NeuralError.io(let failure) {
            throw ConvertError(path: path, reason: "cannot be read: \(failure.cause)")
        } catch {
            throw ConvertError(path: path, reason: "is not a regular file")
        }
        let value: PythonJSON
        do {
            value = try PythonJSON.parse([UInt8](data))
        } catch {
            throw ConvertError(path: path, reason: "invalid JSON (\(error))")
        }
        guard case .object = value else { throw ConvertError(path: path, reason: "is not a JSON object") }
        return value
    }

    func fail(_ reason: String) -> ConvertError { ConvertError(path: path, reason: reason) }

    /// The value of `key`; nil when absent. A JSON `null` is `.null`.
    subscript(key: String) -> PythonJSON? { json[key] }

    /// An integer setting in `range`; `fallback` when the key is absent (or null, where transformers allows `None`).
    func int(_ key: String, default fallback: Int?, nullable: Bool = false,
             in range: ClosedRange<Int> = 1...maximumDimension) throws(ConvertError) -> Int {
        let value: Int
        switch json[key] {
        case .int(let i)?: value = i
        case let other? where other != .null || !nullable:
            throw fail("'\(key)' is \(other.typeName), not an integer")
        default:
            guard let fallback else { throw fail("no '\(key)'") }
            value = fallback
        }
        guard range.contains(value) else { throw fail("'\(key)' is \(value), outside \(range.lowerBound)…\(range.upperBound)") }
        return value
    }

    /// A number setting exactly as written (an int stays an int, as Python keeps it); `fallback` when absent.
    func number(_ key: String, default fallback: Double) throws(ConvertError) -> PythonJSON {
        switch json[key] {
        case nil: return .float(fallback)
        case .int(let i)?: return .int(i)
        case .float(let d)? where d.isFinite: return .float(d)
        case let other?: throw fail("'\(key)' is \(other.typeName), not a finite number")
        }
    }

    func bool(_ key: String, default fallback: Bool, nullable: Bool = false) throws(ConvertError) -> Bool {
        switch json[key] {
        case .bool(let b)?: return b
        case let other? where other != .null || !nullable:
            throw fail("'\(key)' is \(other.typeName), not true or false")
        default: return fallback
        }
    }

    func string(_ key: String, default fallback: String) throws(ConvertError) -> String {
        switch json[key] {
        case nil: return fallback
        case .string(let s)?: return s
        case let other?: throw fail("'\(key)' is \(other.typeName), not a string")
        }
    }

    /// `numerator` is a multiple of `denominator` (the attention-head checks of transformers' configs).
    func requireMultiple(_ numerator: (String, Int), of denominator: (String, Int)) throws(ConvertError) {
        guard numerator.1 % denominator.1 == 0 else {
            throw fail("\(numerator.0) \(numerator.1) is not a multiple of \(denominator.0) \(denominator.1)")
        }
    }
}

extension PythonJSON {
    /// The value as a Python float would read it (`float(x)`), for ints and floats.
    var number: Double? {
        switch self {
        case .int(let i): Double(i)
        case .float(let d): d
        default: nil
        }
    }
}

/// A `Linear` layer's parameters as `named_parameters()` lists them: weight [out, in], then bias [out] if it has one.
func linearShapes(_ name: String, out: Int, in inputs: Int, bias: Bool) -> ExpectedShapes {
    [(name + ".weight", [out, inputs])] + (bias ? [(name + ".bias", [out])] : [])
}
