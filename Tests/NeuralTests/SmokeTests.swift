import Testing
@testable import Neural

@Suite struct SmokeTests {
    @Test func moduleLoads() { _ = Neural.self }
}
