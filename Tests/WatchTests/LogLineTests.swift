import Foundation
import Logging
import Testing
@testable import Watch

/// The daemon's log lines carry file names: control characters in them are escaped, so a name can neither drive
/// the terminal nor forge a second log line.
@Suite struct LogLineTests {
    @Test func controlCharactersInMessagesAndValuesAreEscaped() {
        let line = StderrLogHandler.format(
            date: Date(timeIntervalSince1970: 0), level: .info, label: "vjsearch.watch", message: "indexed \u{1B}[31m",
            metadata: ["path": "/v/a\nerror forged.mp4", "clips": "3"])
        #expect(!line.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F })
        #expect(line == #"1970-01-01T00:00:00.000Z info vjsearch.watch: indexed \x1b[31m clips=3 path="/v/a\x0aerror forged.mp4""#)
    }

    @Test func plainLinesAreUnchanged() {
        let line = StderrLogHandler.format(date: Date(timeIntervalSince1970: 0), level: .info, label: "l", message: "m",
                                           metadata: ["path": "/v/a b.mp4"])
        #expect(line == #"1970-01-01T00:00:00.000Z info l: m path="/v/a b.mp4""#)
    }
}
