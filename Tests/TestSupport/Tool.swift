import Foundation

/// Runs a command-line tool (found on PATH) for test fixtures, e.g. `ffmpeg`; throws with its stderr on failure.
public enum Tool {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public static func run(_ tool: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [tool] + arguments
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(description: "\(tool) failed: \(String(decoding: message, as: UTF8.self))")
        }
    }
}
