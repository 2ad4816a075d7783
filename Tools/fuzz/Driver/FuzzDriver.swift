import FuzzHarnesses
import Foundation

/// `vjsearch-fuzz`: the harness named by `VJ_FUZZ_TARGET` (see `FuzzHarness`), under libFuzzer when built with
/// `-sanitize=fuzzer,address -DFUZZING` (the recipe is in `Tools/fuzz/run`), otherwise a replayer of the files
/// and folders given as arguments, so the same inputs can be tried in an ordinary build.
@main
enum FuzzDriver {
    static func main() {
        #if FUZZING
        // SwiftPM's `main` is this function, so libFuzzer's own `main` is not linked: hand it the arguments.
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, LLVMFuzzerTestOneInput))
        #else
        replay(CommandLine.arguments.dropFirst())
        #endif
    }

    /// Runs every file given, and every file in each folder given, through the harness; prints one line each.
    static func replay(_ paths: ArraySlice<String>) {
        guard !paths.isEmpty else {
            FileHandle.standardError.write(Data("usage: VJ_FUZZ_TARGET=<harness> vjsearch-fuzz <file or folder>...\n".utf8))
            exit(64)
        }
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                FileHandle.standardError.write(Data("error: \(path): no such file or directory\n".utf8))
                exit(66)
            }
            let files = isDirectory.boolValue
                ? ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted().map { path + "/" + $0 }
                : [path]
            for file in files {
                guard let accepted = try? harness.run(contentsOf: URL(fileURLWithPath: file)) else { continue }
                print("\(accepted ? "accepted" : "refused ") \(file)")
            }
        }
    }
}

/// The harness `VJ_FUZZ_TARGET` names; the process exits with a usage message when it names none.
let harness: FuzzHarness = {
    let name = ProcessInfo.processInfo.environment["VJ_FUZZ_TARGET"] ?? ""
    guard let harness = FuzzHarness(rawValue: name) else {
        let names = FuzzHarness.allCases.map(\.rawValue).joined(separator: ", ")
        FileHandle.standardError.write(Data("error: set VJ_FUZZ_TARGET to one of \(names) (found '\(name)')\n".utf8))
        exit(64)
    }
    return harness
}()

#if FUZZING
/// libFuzzer's entry for each input.
@_cdecl("LLVMFuzzerTestOneInput")
public func LLVMFuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    harness.run(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

/// Called once by libFuzzer before the first input: picks the harness and does its one-time loading.
@_cdecl("LLVMFuzzerInitialize")
public func LLVMFuzzerInitialize(
    _ argc: UnsafeMutablePointer<CInt>?, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?
) -> CInt {
    harness.prepare()
    return 0
}

/// libFuzzer's driver for programs that have their own `main` (`FuzzerInterface.h`).
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt
#endif
