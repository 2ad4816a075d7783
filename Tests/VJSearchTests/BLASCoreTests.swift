import Foundation
import Testing

/// OpenBLAS falls back to its generic kernels (a third of the speed) on CPUs it does not know; the commands that
/// embed video start again with `OPENBLAS_CORETYPE` set for what the CPU can run. `OPENBLAS_VERBOSE=2` makes
/// OpenBLAS print the kernel set it loads, `Core: <name>`, each time it loads.
@Suite struct BLASCoreTests {
    static let generic: Set = ["Prescott", "Core2", "Penryn", "Dunnington", "Nehalem", "Atom", "Sandybridge"]

    static var cpuFlags: Set<Substring> {
        let info = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let line = info.split(separator: "\n").first { $0.hasPrefix("flags") } ?? ""
        return Set(line.split(separator: " "))
    }

    static func cores(_ result: CommandLineTests.Result) -> [String] {
        (result.stdoutLines + result.stderrLines).compactMap { line in
            guard let range = line.range(of: "Core: ") else { return nil }
            return String(line[range.upperBound...]).trimmingCharacters(in: .whitespaces)
        }
    }

    @Test(.enabled(if: cpuFlags.contains("avx2") && cpuFlags.contains("fma"), "needs an AVX2 and FMA CPU"))
    func embeddingCommandsRunOpenBLASsFastKernels() throws {
        let r = try CommandLineTests.run(["model", "list"], environment: ["OPENBLAS_VERBOSE": "2", "OPENBLAS_CORETYPE": nil])
        #expect(r.status == 0, "\(r.stderr)")
        let cores = Self.cores(r)
        let last = try #require(cores.last, "OpenBLAS printed no core: \(r.stderr)")
        #expect(!Self.generic.contains(last), "OpenBLAS runs its generic \(last) kernels (loads: \(cores))")
    }

    @Test func aCoreTypeTheUserSetIsKept() throws {
        let r = try CommandLineTests.run(["model", "list"], environment: ["OPENBLAS_VERBOSE": "2", "OPENBLAS_CORETYPE": "Prescott"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(Self.cores(r) == ["Prescott"])
    }

    @Test func otherCommandsStartOnce() throws {
        let r = try CommandLineTests.run(["--version"], environment: ["OPENBLAS_VERBOSE": "2", "OPENBLAS_CORETYPE": nil])
        #expect(r.status == 0)
        #expect(Self.cores(r).count <= 1)
    }
}
