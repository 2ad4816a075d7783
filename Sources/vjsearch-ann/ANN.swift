import ArgumentParser
import Dispatch
import Foundation
import VectorIndex

/// Wall-clock seconds since an arbitrary origin.
func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// CPU seconds used by this process (all threads, user and system). On a shared machine this is the
/// fairer clock: it leaves out time spent waiting for a core.
func cpuTime() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// `vjsearch-ann`: build, search, delete and verify a VectorIndex on .fvecs/.ivecs files.
///
/// Exit codes: 0 success, 1 the index failed `verify`, 2 an error (printed as `error: …`).
@main
struct ANN: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vjsearch-ann",
        abstract: "Drive the vjsearch vector index on standard ANN benchmark files.",
        subcommands: [Build.self, Search.self, Churn.self, RandomOps.self, Delete.self, Verify.self, Info.self])
}

struct IndexOption: ParsableArguments {
    @Option(name: .long, help: "The index directory (an LMDB environment).")
    var index: String
}

/// Runs `body`, turning thrown errors into `error: …` on stderr and exit code 2.
func reportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as ExitCode {
        throw error
    } catch {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        throw ExitCode(2)
    }
}

extension VectorStorage: ExpressibleByArgument {}

extension Metric: ExpressibleByArgument {
    public init?(argument: String) {
        switch argument {
        case "cosine": self = .cosine
        case "ip": self = .innerProduct
        case "l2": self = .l2
        default: return nil
        }
    }
}

struct Build: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Build (or extend) an index; ids are row numbers.",
        discussion: """
            Each batch commits on its own. A build that was killed resumes: rows whose ids the index already holds \
            in order from --first-id are skipped.
            Example: vjsearch-ann build --index idx --vectors base.fvecs --storage int8
            """)
    @OptionGroup var options: IndexOption
    @Option(help: "Base vectors (.fvecs).") var vectors: String
    @Option(help: "cosine, ip or l2.") var metric: Metric = .cosine
    @Option(help: "Links per node (layer 0 keeps 2·m).") var m = 16
    @Option(name: .customLong("ef-construction"), help: "Candidate list size while inserting.") var efConstruction = 200
    @Option(help: "Vectors per write transaction.") var batch = 10_000
    @Option(name: .customLong("first-id"), help: "The id of the first row.") var firstID: UInt64 = 0
    @Option(help: "f32, or int8 (codes for the graph walk, f32 kept for exact rescoring).") var storage: VectorStorage = .f32

    func run() throws {
        try reportingErrors {
            let (dimension, values) = try VecsFile.readFloats(vectors)
            let rows = values.count / dimension
            let index = try HNSWIndex(path: options.index, creating: IndexSettings(
                dimension: dimension, metric: metric, parameters: HNSWParameters(m: m, efConstruction: efConstruction),
                storage: storage))
            let start = now()
            let startCPU = cpuTime()
            var row = try committedRows(index, rows: rows)
            if row > 0 { print("resuming after \(row) rows already in the index") }
            while row < rows {
                let end = min(rows, row + max(batch, 1))
                let ids = (row..<end).map { firstID + UInt64($0) }
                try index.insert(ids: ids, vectors: Array(values[(row * dimension)..<(end * dimension)]))
                row = end
                if isatty(1) != 0 { print("\r\(row)/\(rows)", terminator: "") }
            }
            if isatty(1) != 0 { print("") }
            let seconds = now() - start
            print("built \(rows) vectors of \(dimension) dims in \(String(format: "%.3f", seconds)) s")
            print("build_cpu_s=\(String(format: "%.4f", cpuTime() - startCPU))")
            print("build_s=\(String(format: "%.4f", seconds))")
        }
    }
}

/// How many leading rows a killed build already committed: batches commit in order, so the rows present are
/// `firstID ..< firstID + n` for the n the index counts (when that is not so, the build starts over, as updates).
extension Build {
    func committedRows(_ index: HNSWIndex, rows: Int) throws -> Int {
        let present = try index.count()
        guard present > 0, present <= rows, try index.contains(firstID),
              try index.contains(firstID + UInt64(present - 1))
        else { return 0 }
        if present < rows, try index.contains(firstID + UInt64(present)) { return 0 }
        return present
    }
}

struct Search: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Search; prints queries per second as the last line.")
    @OptionGroup var options: IndexOption
    @Option(help: "Query vectors (.fvecs).") var queries: String
    @Option var k = 10
    @Option var ef = 64
    @Option(help: "Searching threads.") var threads = 1
    @Option(help: "Where to write the result ids (.ivecs).") var out: String?
    @Flag(help: "Brute-force search instead of the graph.") var exact = false
    @Option(help: "Untimed passes over the queries first, to fault the index pages in (as an in-memory index is after loading).")
    var warmup = 0

    func run() throws {
        try reportingErrors {
            let (dimension, values) = try VecsFile.readFloats(queries)
            let rows = values.count / dimension
            let opening = now()
            let index = try HNSWIndex(path: options.index)
            let opened = now()
            var results = [[Int32]](repeating: [], count: rows)
            // The first query, timed separately: open plus first answer from a cold process.
            let firstQuery = Array(values[0..<dimension])
            results[0] = try search(index, firstQuery)
            let firstAnswered = now()
            for _ in 0..<warmup {
                for q in 0..<rows { _ = try search(index, Array(values[(q * dimension)..<((q + 1) * dimension)])) }
            }
            let start = now()
            let startCPU = cpuTime()
            let failure = FirstErrorLock()
            nonisolated(unsafe) var firstError: Error?
            results.withUnsafeMutableBufferPointer { buffer in
                nonisolated(unsafe) let out = buffer
                DispatchQueue.concurrentPerform(iterations: max(threads, 1)) { worker in
                    var q = worker
                    while q < rows {
                        do {
                            out[q] = try search(index, Array(values[(q * dimension)..<((q + 1) * dimension)]))
                        } catch {
                            failure.withLock { firstError = error }
                            return
                        }
                        q += max(threads, 1)
                    }
                }
            }
            let seconds = now() - start
            let cpuSeconds = cpuTime() - startCPU
            if let firstError { throw firstError }
            if let out { try VecsFile.writeInts(results, to: out) }
            print("open_ms=\(String(format: "%.3f", (opened - opening) * 1000)) open_and_first_query_ms=\(String(format: "%.3f", (firstAnswered - opening) * 1000))")
            print("cpu_qps=\(String(format: "%.1f", Double(rows) / cpuSeconds))")
            print("qps=\(String(format: "%.1f", Double(rows) / seconds))")
        }
    }

    func search(_ index: HNSWIndex, _ query: [Float]) throws -> [Int32] {
        let hits = exact ? try index.exactSearch(query, k: k) : try index.search(query, k: k, ef: ef)
        return hits.map { Int32(truncatingIfNeeded: $0.id) }
    }
}

/// A lock for the search workers' first error.
final class FirstErrorLock: @unchecked Sendable {
    private let lock = NSLock()
    func withLock<R>(_ body: () throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }
}

struct Delete: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Delete the ids listed in an .ivecs file.")
    @OptionGroup var options: IndexOption
    @Option(help: "Ids to delete (.ivecs, any row lengths).") var ids: String

    func run() throws {
        try reportingErrors {
            let list = try VecsFile.readInts(ids).flatMap { $0 }.map { UInt64(UInt32(bitPattern: $0)) }
            let index = try HNSWIndex(path: options.index)
            let removed = try index.delete(ids: list)
            print("deleted \(removed) of \(list.count) ids; \(try index.count()) remain")
        }
    }
}

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Check the index; exits 0 when it is sound, 1 when not.")
    @OptionGroup var options: IndexOption

    func run() throws {
        try reportingErrors {
            let index = try HNSWIndex(path: options.index)
            let report = try index.verify()
            print(report)
            if !report.isSound { throw ExitCode(1) }
        }
    }
}

/// The p-th percentile (0…100) of `values`, nearest rank.
func percentile(_ values: [Double], _ p: Double) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return .nan }
    return sorted[min(sorted.count - 1, max(0, Int((p / 100 * Double(sorted.count)).rounded(.up)) - 1))]
}

struct Churn: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Add videos of vectors one commit each, delete them one commit each, then add them again.",
        discussion: """
            Times each commit in-process, as a library's indexing run commits one video at a time. The second \
            round of adds reuses the slots the deletes left.
            Example: vjsearch-ann churn --index idx --vectors extra.fvecs --first-id 100000 --video 60 --videos 20
            """)
    @OptionGroup var options: IndexOption
    @Option(help: "Vectors for the videos (.fvecs), taken in order.") var vectors: String
    @Option(name: .customLong("first-id"), help: "The id of the first vector; ids must not be in the index.") var firstID: UInt64
    @Option(help: "Vectors per video.") var video = 60
    @Option(help: "How many videos.") var videos = 20

    func run() throws {
        try reportingErrors {
            guard video >= 1, videos >= 1 else { throw ValidationError("--video and --videos must be at least 1") }
            let (dimension, values) = try VecsFile.readFloats(vectors)
            guard values.count / dimension >= video * videos else {
                throw ValidationError("\(vectors) holds \(values.count / dimension) vectors; \(video * videos) are needed")
            }
            let index = try HNSWIndex(path: options.index)
            let batches = (0..<videos).map { v in
                (ids: (0..<video).map { firstID + UInt64(v * video + $0) },
                 vectors: Array(values[(v * video * dimension)..<((v + 1) * video * dimension)]))
            }
            func timed(_ body: () throws -> Void) rethrows -> Double {
                let start = now()
                try body()
                return (now() - start) * 1000
            }
            let adds = try batches.map { b in try timed { try index.insert(ids: b.ids, vectors: b.vectors) } }
            let deletes = try batches.map { b in try timed { _ = try index.delete(ids: b.ids) } }
            let readds = try batches.map { b in try timed { try index.insert(ids: b.ids, vectors: b.vectors) } }
            let f = { (x: Double) in String(format: "%.2f", x) }
            print("add_video_ms_p50=\(f(percentile(adds, 50))) add_video_ms_p99=\(f(percentile(adds, 99))) "
                  + "delete_video_ms_p50=\(f(percentile(deletes, 50))) delete_video_ms_p99=\(f(percentile(deletes, 99))) "
                  + "readd_video_ms_p50=\(f(percentile(readds, 50))) readd_video_ms_p99=\(f(percentile(readds, 99)))")
        }
    }
}

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the index's settings and sizes as key=value pairs.")
    @OptionGroup var options: IndexOption

    func run() throws {
        try reportingErrors {
            let index = try HNSWIndex(path: options.index)
            let info = try index.info()
            print("storage=\(info.storage) dimension=\(index.dimension) count=\(info.count) tombstones=\(info.tombstones) "
                  + "slots=\(info.slots) search_bytes_per_vector=\(info.searchBytesPerVector) "
                  + "stored_bytes_per_vector=\(info.storedBytesPerVector)")
        }
    }
}

struct RandomOps: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "random-ops",
        abstract: "Random inserts, deletes and updates, one write each, then verify; exits 1 when the index is unsound.",
        discussion: """
            Inserts take 1-60 new vectors (ids from --first-id on), deletes 1-60 ids drawn below the highest id \
            used (absent ones are skipped), updates give one present id a new vector; vectors come from --vectors \
            in turn.
            Example: vjsearch-ann random-ops --index idx --vectors extra.fvecs --first-id 1000000 --ops 1000
            """)
    @OptionGroup var options: IndexOption
    @Option(help: "Vectors to insert (.fvecs), used in turn.") var vectors: String
    @Option(name: .customLong("first-id"), help: "The first id for new vectors; ids must not be in the index.") var firstID: UInt64
    @Option(help: "Operations.") var ops = 1000
    @Option(help: "Random seed.") var seed: UInt64 = 1

    func run() throws {
        try reportingErrors {
            let (dimension, values) = try VecsFile.readFloats(vectors)
            let available = values.count / dimension
            guard available >= 60, ops >= 1 else { throw ValidationError("need --ops >= 1 and at least 60 vectors in \(vectors)") }
            let index = try HNSWIndex(path: options.index)
            var state = seed
            func random(_ n: Int) -> Int {  // SplitMix64
                state &+= 0x9E37_79B9_7F4A_7C15
                var z = state
                z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
                z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                return Int((z ^ (z >> 31)) % UInt64(n))
            }
            var next = 0
            func take(_ n: Int) -> [Float] {
                var out: [Float] = []
                for _ in 0..<n {
                    out += values[(next * dimension)..<((next + 1) * dimension)]
                    next = (next + 1) % available
                }
                return out
            }
            var nextID = firstID
            var counts = (inserted: 0, deleted: 0, updated: 0)
            let start = now()
            for _ in 0..<ops {
                switch random(3) {
                case 0:
                    let n = 1 + random(60)
                    try index.insert(ids: (0..<n).map { nextID + UInt64($0) }, vectors: take(n))
                    nextID += UInt64(n)
                    counts.inserted += n
                case 1:
                    let ids = (0..<(1 + random(60))).map { _ in UInt64(random(Int(nextID))) }
                    counts.deleted += try index.delete(ids: Array(Set(ids)))
                default:
                    let id = UInt64(random(Int(nextID)))
                    if try index.contains(id) {
                        try index.update(id: id, vector: take(1))
                        counts.updated += 1
                    }
                }
            }
            let seconds = now() - start
            print("\(ops) operations in \(String(format: "%.1f", seconds)) s: inserted \(counts.inserted), deleted \(counts.deleted), updated \(counts.updated); \(try index.count()) live")
            let report = try index.verify()
            print(report)
            if !report.isSound { throw ExitCode(1) }
        }
    }
}
