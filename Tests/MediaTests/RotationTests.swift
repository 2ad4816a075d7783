import Testing
@testable import Media

/// Rotation-tagged videos come out the way FFmpeg itself shows them.
@Suite struct RotationTests {
    enum Side: Equatable { case left, right, top, bottom }

    /// The darker half of an image given as a row-major brightness function.
    static func darkSide(width: Int, height: Int, _ value: (Int, Int) -> Double) -> Side {
        var left = 0.0, right = 0.0, top = 0.0, bottom = 0.0
        for y in 0..<height {
            for x in 0..<width {
                let v = value(x, y)
                if x < width / 2 { left += v } else { right += v }
                if y < height / 2 { top += v } else { bottom += v }
            }
        }
        let horizontal = abs(left - right), vertical = abs(top - bottom)
        return horizontal > vertical ? (left < right ? .left : .right) : (top < bottom ? .top : .bottom)
    }

    @Test(arguments: [0, 90, 180, 270])
    func uprightLikeFFmpeg(rotateTag: Int) throws {
        let path = try Fixtures.halves(rotate: rotateTag)
        let info = try MediaFile.probe(path)
        #expect((info.rotation == 0) == (rotateTag == 0))
        #expect(info.displayWidth == (info.rotation % 180 == 0 ? 64 : 48))

        let reference = try Fixtures.ffmpegFrame(path)
        #expect(reference.width == info.displayWidth && reference.height == info.displayHeight)
        let expected = Self.darkSide(width: reference.width, height: reference.height) {
            Double(reference.pixels[$1 * reference.width + $0])
        }

        let sampler = try FrameSampler(file: try MediaFile(path: path), rate: 1, shortSide: 32, crop: 28,
                                       mean: [0, 0, 0], std: [1, 1, 1])
        var buffer = [Float](repeating: 0, count: sampler.floatsPerFrame)
        #expect(try buffer.withUnsafeMutableBufferPointer { try sampler.next(into: $0) } != nil)
        let ours = Self.darkSide(width: 28, height: 28) { Double(buffer[$1 * 28 + $0]) }
        #expect(ours == expected, "rotation \(info.rotation): ours dark \(ours), FFmpeg dark \(expected)")
        if rotateTag == 0 { #expect(ours == .left) }
    }
}
