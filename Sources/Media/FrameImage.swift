import Glibc

/// Writes one model-layout frame (`[3][size][size]` floats, normalised by `mean` / `std`) as a
/// binary PPM image, undoing the normalisation, so a person can see what the model sees.
public func writePPM(
    frame: UnsafeBufferPointer<Float>, size: Int, mean: [Float], std: [Float], to path: String
) throws(MediaError) {
    precondition(frame.count >= 3 * size * size && mean.count == 3 && std.count == 3)
    guard let file = fopen(path, "wb") else {
        let reason: MediaError.Reason = errno == EACCES ? .permissionDenied : .library(AVError(-errno))
        throw MediaError(path: path, reason: reason)
    }
    defer { fclose(file) }
    let header = Array("P6\n\(size) \(size)\n255\n".utf8)
    var pixels = [UInt8](repeating: 0, count: header.count + 3 * size * size)
    pixels.replaceSubrange(0..<header.count, with: header)
    let plane = size * size
    for c in 0..<3 {
        let s = std[c] * 255, m = mean[c] * 255
        for i in 0..<plane {
            let v = frame[c * plane + i] * s + m
            pixels[header.count + 3 * i + c] = UInt8(max(0, min(255, v.rounded())))
        }
    }
    if fwrite(pixels, 1, pixels.count, file) != pixels.count {
        throw MediaError(path: path, reason: .library(AVError(-EIO)))
    }
}
