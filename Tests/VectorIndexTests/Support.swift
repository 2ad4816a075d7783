import Foundation
import TestSupport
@testable import VectorIndex

/// Deterministic test vectors (SplitMix64 + Box–Muller).
struct VectorGenerator {
    var bits: SplitMix64

    init(seed: UInt64) { bits = SplitMix64(seed: seed) }

    mutating func next() -> UInt64 { bits.next() }

    mutating func uniform() -> Float { Float(Double(next() >> 11) / Double(1 << 53)) }

    mutating func gaussian() -> Float {
        let u = max(uniform(), 1e-7), v = uniform()
        return (-2 * Foundation.log(u)).squareRoot() * Foundation.cos(2 * .pi * v)
    }

    /// `n × d` uniform-gaussian vectors, flat.
    mutating func random(_ n: Int, _ d: Int) -> [Float] { (0..<(n * d)).map { _ in gaussian() } }

    /// `n × d` vectors from a mixture of `centres` gaussians, flat.
    mutating func clustered(_ n: Int, _ d: Int, centres: Int) -> [Float] {
        let c = random(centres, d)
        var out: [Float] = []
        out.reserveCapacity(n * d)
        for _ in 0..<n {
            let k = Int(next() % UInt64(centres))
            for j in 0..<d { out.append(c[k * d + j] + 0.7 * gaussian()) }
        }
        return out
    }
}

func row(_ flat: [Float], _ i: Int, _ d: Int) -> [Float] { Array(flat[(i * d)..<((i + 1) * d)]) }

/// Mean recall@k of the graph search against exact search, over `queries`.
func recall(_ index: HNSWIndex, queries: [Float], k: Int, ef: Int, filter: Set<UInt64>? = nil) throws -> Double {
    let d = index.dimension
    let n = queries.count / d
    var hits = 0
    for q in 0..<n {
        let query = row(queries, q, d)
        let truth = Set(try index.exactSearch(query, k: k, filter: filter).map(\.id))
        let found = try index.search(query, k: k, ef: ef, filter: filter).map(\.id)
        hits += found.filter { truth.contains($0) }.count
    }
    return Double(hits) / Double(n * k)
}

/// Builds an index of `n × d` vectors with ids `0..<n`, in batches.
func makeIndex(
    _ dir: TemporaryDirectory, vectors: [Float], d: Int, metric: Metric = .cosine, m: Int = 12, efc: Int = 60,
    batch: Int = 1000, storage: VectorStorage = .f32
) throws -> HNSWIndex {
    let index = try HNSWIndex(path: dir.path, creating: IndexSettings(
        dimension: d, metric: metric, parameters: HNSWParameters(m: m, efConstruction: efc, ef: 64), storage: storage))
    let n = vectors.count / d
    var start = 0
    while start < n {
        let end = min(n, start + batch)
        try index.insert(ids: (start..<end).map { UInt64($0) }, vectors: Array(vectors[(start * d)..<(end * d)]))
        start = end
    }
    return index
}

/// The built `vjsearch-ann`, next to the test runner in the build folder.
func annExecutable() throws -> URL {
    let runner = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    var dir = runner.deletingLastPathComponent()
    for _ in 0..<4 {
        let candidate = dir.appendingPathComponent("vjsearch-ann")
        if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        dir = dir.deletingLastPathComponent()
    }
    throw IndexError.missing(path: "vjsearch-ann next to \(runner.path) (run `swift build --build-tests`)")
}

/// Writes `.fvecs`.
func writeFvecs(_ flat: [Float], d: Int, to url: URL) throws {
    var bytes: [UInt8] = []
    for i in 0..<(flat.count / d) {
        withUnsafeBytes(of: Int32(d).littleEndian) { bytes.append(contentsOf: $0) }
        for v in row(flat, i, d) { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
    }
    try Data(bytes).write(to: url)
}

/// Runs `vjsearch-ann` to the end; its exit status and its stdout and stderr together.
func runANN(_ ann: URL, _ arguments: [String]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = ann
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}
