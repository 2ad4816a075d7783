/// What the tests read from a JPEG without decoding it.
public enum JPEG {
    /// Whether `bytes` start with the start-of-image marker (FF D8) and end with the end-of-image marker (FF D9).
    public static func isWhole(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 4 && bytes.starts(with: [0xFF, 0xD8]) && bytes.suffix(2).elementsEqual([0xFF, 0xD9])
    }

    /// The start-of-frame marker's type (0xC0: baseline) and the picture size it declares, or nil when the markers
    /// before it do not parse.
    public static func startOfFrame(_ bytes: [UInt8]) -> (marker: UInt8, width: Int, height: Int)? {
        var i = 2
        while i + 8 < bytes.count, bytes[i] == 0xFF {
            let marker = bytes[i + 1]
            let length = Int(bytes[i + 2]) << 8 | Int(bytes[i + 3])
            // SOFn is C0–CF except C4 (Huffman tables), C8 (reserved) and CC (arithmetic coding conditioning); each is
            // FF Cn, a 2-byte length, the sample precision, then the height and the width, 2 bytes each.
            if (0xC0...0xCF).contains(marker), ![0xC4, 0xC8, 0xCC].contains(marker) {
                return (marker, Int(bytes[i + 7]) << 8 | Int(bytes[i + 8]), Int(bytes[i + 5]) << 8 | Int(bytes[i + 6]))
            }
            i += 2 + length
        }
        return nil
    }
}
