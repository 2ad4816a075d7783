import Testing
@testable import JEPA

@Suite struct SmokeTests {
    @Test func moduleLoads() { _ = JEPA.self }
}
