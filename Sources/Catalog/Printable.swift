extension String {
    /// The text safe to print to a terminal: each control character (C0, DEL, C1; file names may hold any of them)
    /// becomes `\xHH` with its code point, so an ESC in a file name cannot move the cursor or recolour the
    /// terminal, and a newline cannot split one line into two. JSON output escapes them on its own.
    public var escapingControlCharacters: String {
        func isControl(_ scalar: Unicode.Scalar) -> Bool { scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) }
        guard unicodeScalars.contains(where: isControl) else { return self }
        var out = String.UnicodeScalarView()
        for scalar in unicodeScalars {
            if isControl(scalar) {
                out.append(contentsOf: Self.hexEscape(scalar.value).unicodeScalars)
            } else {
                out.append(scalar)
            }
        }
        return String(out)
    }

    /// `\xHH`, at least two hex digits: how a control character or an undecodable byte is shown.
    public static func hexEscape(_ value: UInt32) -> String {
        let hex = String(value, radix: 16)
        return "\\x" + (hex.count < 2 ? "0" + hex : hex)
    }
}
