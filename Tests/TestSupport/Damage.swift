import Foundation

/// Damage as a failing disk does it, for the tests of what detects it.
public enum Damage {
    /// Flips `mask` in byte `offset` of every copy of `pattern` in `file` (a library's file can hold stale copies
    /// in pages an older transaction freed); returns how many copies there were.
    @discardableResult
    public static func flip(_ pattern: Data, at offset: Int, mask: UInt8 = 0x04, in file: URL) throws -> Int {
        var bytes = try Data(contentsOf: file)
        var from = bytes.startIndex
        var copies = 0
        while let found = bytes.range(of: pattern, in: from..<bytes.endIndex) {
            bytes[found.lowerBound + offset] ^= mask
            copies += 1
            from = found.upperBound
        }
        try bytes.write(to: file)
        return copies
    }

    /// `flip` on the bytes of a stored `Float` vector, in its middle component.
    @discardableResult
    public static func flip(vector: [Float], in file: URL) throws -> Int {
        try flip(vector.withUnsafeBytes { Data($0) }, at: 4 * (vector.count / 2) + 1, in: file)
    }
}
