import Foundation
import Testing
import TestSupport
@testable import Neural

@Suite struct SafeTensorsTests {
    let tensors: [String: Tensor] = [
        "a.weight": Tensor(shape: [2, 3], scalars: [1, -2, 3.5, 0, 0.125, -65504]),
        "a.bias": Tensor(shape: [2], scalars: [0.25, -0.5]),
        "scalar": Tensor(shape: [], scalars: [7]),
        "empty": Tensor(shape: [0, 4], scalars: []),
    ]

    func write(_ data: Data, in dir: TemporaryDirectory, name: String = "m.safetensors") throws -> String {
        let url = dir.file(name)
        try data.write(to: url)
        return url.path
    }

    /// A header-plus-data image built by hand, for malformed cases.
    func image(header: String, data: [UInt8] = [], length: UInt64? = nil) -> Data {
        let h = Data(header.utf8)
        var out = Data()
        withUnsafeBytes(of: (length ?? UInt64(h.count)).littleEndian) { out.append(contentsOf: $0) }
        out.append(h)
        out.append(contentsOf: data)
        return out
    }

    @Test(arguments: [SafeTensors.DType.f32, .f16, .bf16])
    func roundTripsFloatDTypes(_ dtype: SafeTensors.DType) throws {
        let dir = try TemporaryDirectory()
        let path = try write(try SafeTensors.serialize(tensors, dtype: dtype, metadata: ["format": "pt"]), in: dir)
        let file = try SafeTensorsFile(path: path)
        #expect(file.names == ["a.bias", "a.weight", "empty", "scalar"])
        #expect(file.metadata == ["format": "pt"])
        let w = try #require(try file.parameter("a.weight"))
        #expect(w.shape == [2, 3])
        // All test values are exact in f16; bf16 keeps 8 significant bits.
        let tolerance: Float = dtype == .bf16 ? 1e-2 : 0
        for (x, y) in zip(w.scalars, tensors["a.weight"]!.scalars) { #expect(Swift.abs(x - y) <= tolerance * Swift.abs(y)) }
        #expect(try file.parameter("scalar")?.scalars == [7])
        #expect(try file.parameter("empty")?.count == 0)
        #expect(try file.parameter("absent") == nil)
    }

    @Test(arguments: [SafeTensors.DType.f32, .f16, .bf16])
    func embeddingRowsMatchTheConvertedTensor(_ dtype: SafeTensors.DType) throws {
        // 16-bit tables are read in place a row at a time (at any alignment: the scalar before the table
        // shifts it by 2 bytes), and must give exactly what converting the whole tensor gives.
        var rng = SplitMix64(seed: 7)
        let table = Tensor(shape: [5, 3], scalars: (0..<15).map { _ in Float.random(in: -2...2, using: &rng) })
        let dir = try TemporaryDirectory()
        let path = try write(try SafeTensors.serialize(["a": Tensor(shape: [1], scalars: [1]), "table": table],
                                                       dtype: dtype), in: dir)
        let binder = ParameterBinder(file: try SafeTensorsFile(path: path))
        let rows = try binder.takeEmbedding("table", shape: [5, 3])
        let whole = try #require(try binder.file.parameter("table")).scalars
        var out = [Float](repeating: .nan, count: 3)
        for id in [4, 0, 2] {
            rows.copyRow(id, scale: 2, into: &out)
            #expect(out == whole[(3 * id)..<(3 * id + 3)].map { $0 * 2 })
        }
        #expect(throws: NeuralError.shapeMismatch(path: path, tensor: "table", expected: [3, 5], found: [5, 3])) {
            try binder.takeEmbedding("table", shape: [3, 5])
        }
        #expect(throws: NeuralError.unusedTensors(path: path, tensors: ["a"])) { try binder.finish() }
    }

    @Test func oddlyPlacedHalfWeightsConvert() throws {
        // A header of odd length leaves the data section at an odd address: 16-bit words read unaligned.
        var header = #"{"t":{"dtype":"F16","shape":[2,2],"data_offsets":[0,8]}}"#
        if header.utf8.count % 2 == 0 { header += " " }
        let halves: [UInt16] = [0x3C00, 0xC000, 0x3800, 0x7BFF]  // 1, -2, 0.5, 65504
        let dir = try TemporaryDirectory()
        let path = try write(image(header: header, data: halves.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }), in: dir)
        let matrix = try #require(try SafeTensorsFile(path: path).halfMatrix("t"))
        var out = [Float](repeating: 0, count: 4)
        matrix.convert(rows: 0..<2, scale: 2, into: &out)
        #expect(out == [2, -4, 1, 131_008])
        matrix.convert(rows: 1..<2, into: &out)
        #expect(out[0...1] == [0.5, 65504])
    }

    @Test func halfConversionHandlesSubnormalsAndSpecials() {
        // Every one of the 65,536 bit patterns, against the standard library's conversion.
        var mismatches: [UInt16] = []
        for bits in UInt16.min...UInt16.max {
            let ours = Float(halfBits: bits), reference = Float(Float16(bitPattern: bits))
            if ours.bitPattern != reference.bitPattern && !(ours.isNaN && reference.isNaN) { mismatches.append(bits) }
        }
        #expect(mismatches.isEmpty, "first mismatches: \(mismatches.prefix(5))")
        #expect(Float(halfBits: 0x7E00).isNaN)
        #expect(Float(halfBits: 0x0001) == 0x1p-24)
    }

    @Test func bindingIsStrict() throws {
        let dir = try TemporaryDirectory()
        let path = try write(try SafeTensors.serialize(tensors), in: dir)
        let binder = ParameterBinder(file: try SafeTensorsFile(path: path))
        let layer = try binder.linear("a", in: 3, out: 2, bias: true)
        #expect(layer.outFeatures == 2)
        #expect(throws: NeuralError.shapeMismatch(path: path, tensor: "scalar", expected: [1], found: [])) {
            try binder.take("scalar", shape: [1])
        }
        #expect(throws: NeuralError.missingTensor(path: path, tensor: "b.weight")) {
            try binder.take("b.weight", shape: [2, 2])
        }
        #expect(throws: NeuralError.unusedTensors(path: path, tensors: ["empty", "scalar"])) { try binder.finish() }
        _ = try binder.take("scalar", shape: [])
        _ = try binder.take("empty", shape: [0, 4])
        try binder.finish()
        #expect(NeuralError.shapeMismatch(path: "m", tensor: "t", expected: [2, 3], found: [3, 2]).description
            == "m: tensor 't' expected [2, 3], found [3, 2]")
    }

    @Test func integerTensorsAndUnsupportedDTypes() throws {
        let dir = try TemporaryDirectory()
        var bytes: [UInt8] = []
        for v: Int64 in [3, -1] { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
        let data = image(header: #"{"ids":{"dtype":"I64","shape":[2],"data_offsets":[0,16]}}"#, data: bytes)
        let file = try SafeTensorsFile(path: try write(data, in: dir))
        #expect(try file.integers("ids")?.values == [3, -1])
        #expect(throws: NeuralError.self) { try file.parameter("ids") }
    }

    @Test(arguments: [
        ("short", Data([1, 2, 3])),
        ("huge length", Data([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7B, 0x7D])),
    ])
    func rejectsTruncatedFiles(_ label: String, _ data: Data) throws {
        let dir = try TemporaryDirectory()
        #expect(throws: NeuralError.self, "\(label)") { try SafeTensorsFile(path: try write(data, in: dir)) }
    }

    @Test(arguments: [
        #"not json"#,
        #"[1,2]"#,
        #"{"t":5}"#,
        #"{"t":{"dtype":"F99","shape":[1],"data_offsets":[0,4]}}"#,
        #"{"t":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#,
        #"{"t":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}"#,
        #"{"t":{"dtype":"F32","shape":[true],"data_offsets":[0,4]}}"#,
        #"{"t":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#,
        #"{"t":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}"#,
        #"{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,8]}}"#,
        #"{"t":{"dtype":"F32","shape":[1],"data_offsets":[0]}}"#,
        #"{"t":{"dtype":"F32","shape":[1]}}"#,
        #"{"t":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,4]}}"#,
        #"{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"u":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#,
        #"{"t":{"dtype":"F16","shape":[1],"data_offsets":[2,4]}}"#,
        #"{"t":{"dtype":"F16","shape":[1],"data_offsets":[0,2]}}"#,
        #"{"__metadata__":{"k":1},"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#,
    ])
    func rejectsMalformedHeaders(_ header: String) throws {
        let dir = try TemporaryDirectory()
        let data = image(header: header, data: [0, 0, 0x80, 0x3F])
        #expect(throws: NeuralError.self, "\(header)") { try SafeTensorsFile(path: try write(data, in: dir)) }
    }

    @Test func fuzzedHeadersThrowButNeverCrash() throws {
        let valid = try SafeTensors.serialize(tensors)
        var rng = SplitMix64(seed: 0xF00D)
        var accepted = 0, rejected = 0
        for round in 0..<3000 {
            var bytes = [UInt8](valid)
            let headerEnd = 8 + Int(bytes[0]) + Int(bytes[1]) << 8
            switch round % 4 {
            case 0:  // flip random bytes, mostly inside the length and the header
                for _ in 0..<Int.random(in: 1...4, using: &rng) {
                    bytes[Int.random(in: 0..<headerEnd, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                }
            case 1:  // truncate anywhere
                bytes.removeLast(Int.random(in: 1...bytes.count, using: &rng))
            case 2:  // replace a digit in the header with another digit
                let digits = (8..<headerEnd).filter { (0x30...0x39).contains(bytes[$0]) }
                if let i = digits.randomElement(using: &rng) { bytes[i] = UInt8.random(in: 0x30...0x39, using: &rng) }
            default:  // splice a random byte run into the header
                let at = Int.random(in: 8..<headerEnd, using: &rng)
                bytes.insert(contentsOf: (0..<Int.random(in: 1...6, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }, at: at)
            }
            do {
                let parsed = try bytes.withUnsafeBytes { try SafeTensors.parseHeader($0, path: "fuzz") }
                // Whatever survives validation must describe tensors that fit the data exactly.
                for entry in parsed.entries.values {
                    #expect(entry.end - entry.begin == entry.count * entry.dtype.size)
                    #expect(parsed.dataOffset + entry.end <= bytes.count)
                }
                accepted += 1
            } catch is NeuralError {
                rejected += 1
            }
        }
        #expect(rejected > 1000)
        #expect(accepted + rejected == 3000)
    }

    @Test func mappedFileRejectsDirectoriesAndMissingFiles() throws {
        let dir = try TemporaryDirectory()
        #expect(throws: NeuralError.self) { try MappedFile(path: dir.path) }
        #expect(throws: NeuralError.self) { try MappedFile(path: dir.file("absent").path) }
        try Data().write(to: dir.file("empty"))
        #expect(try MappedFile(path: dir.file("empty").path).size == 0)
        #expect(throws: NeuralError.self) { try SafeTensorsFile(path: dir.file("empty").path) }
    }
}
