import Testing
@testable import Media

@Suite struct SmokeTests {
    @Test func moduleLoads() { _ = Media.self }
}
