/// The tubelet patch embedding (a Conv3d whose kernel equals its stride) as an im2col copy plus one GEMM.
extension Kernels {
    /// Gathers non-overlapping tubelets of a video [frames × channels × height × width] into rows.
    ///
    /// Output is [tokens × channels·tubelet·patch·patch], tokens ordered (t, y, x) and columns (c, dt, dy, dx),
    /// which matches `Conv3d(...).flatten(2).transpose(1, 2)` with a weight of shape [out, c, dt, dy, dx].
    /// Trailing frames or pixels that do not fill a whole tubelet are dropped, as the convolution drops them.
    public static func tubelets(
        _ video: UnsafePointer<Float>, frames: Int, channels: Int, height: Int, width: Int,
        tubelet: Int, patch: Int, into out: UnsafeMutablePointer<Float>
    ) {
        let gt = frames / tubelet, gh = height / patch, gw = width / patch
        let cols = channels * tubelet * patch * patch
        var token = 0
        for t in 0..<gt {
            for y in 0..<gh {
                for x in 0..<gw {
                    var o = out + token * cols
                    for c in 0..<channels {
                        for dt in 0..<tubelet {
                            let frame = t * tubelet + dt
                            let plane = video + (frame * channels + c) * height * width
                            for dy in 0..<patch {
                                let src = plane + (y * patch + dy) * width + x * patch
                                o.update(from: src, count: patch)
                                o += patch
                            }
                        }
                    }
                    token += 1
                }
            }
        }
    }
}
