import Testing
@testable import VectorIndex

@Suite struct SmokeTests {
    @Test func moduleLoads() { _ = VectorIndexModule.self }
}
