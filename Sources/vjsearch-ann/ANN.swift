import ArgumentParser

/// `vjsearch-ann`: build, search, delete and verify a VectorIndex on .fvecs/.ivecs files.
@main
struct ANN: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vjsearch-ann",
        abstract: "Drive the vjsearch vector index on standard ANN benchmark files.")
}
