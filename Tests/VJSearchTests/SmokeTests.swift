import Foundation
import Testing
import TestSupport

@Suite struct SmokeTests {
    @Test func tempDir() throws { let d = try TemporaryDirectory(); #expect(FileManager.default.fileExists(atPath: d.path)) }
}
