import CFFmpeg
import Glibc

/// Turns decoded frames into the model's input: upright, shorter side resized to `shortSide`,
/// centre crop `crop` × `crop`, RGB normalised per channel, channels first (`[3][crop][crop]`).
///
/// The crop is taken in source coordinates before scaling (plane pointers are offset to the crop's
/// corner, as FFmpeg's `crop` filter does), so swscale only reads and writes the pixels that are
/// kept. Cropping a centred square commutes with rotation by quarter turns, so rotation is applied
/// by the final uint8 → float loop, which reads the RGB crop in rotated order.
final class Scaler {
    let shortSide: Int
    let crop: Int
    let rotation: Int
    private var context: OpaquePointer?
    private var key: Key?
    /// Bytes per pixel step in each plane of the current source format.
    private var pixelSteps: (Int32, Int32, Int32, Int32) = (0, 0, 0, 0)
    private let rgb: UnsafeMutablePointer<UInt8>
    private let rgbStride: Int
    private let scale: (Float, Float, Float)
    private let bias: (Float, Float, Float)

    private struct Key: Equatable {
        var width: Int32, height: Int32, format: Int32, fullRange: Bool, colorspace: UInt32
    }

    init(shortSide: Int, crop: Int, rotation: Int, mean: [Float], std: [Float]) {
        self.shortSide = shortSide
        self.crop = crop
        self.rotation = rotation
        rgbStride = (crop * 3 + 63) & ~63
        guard let buffer = av_malloc(rgbStride * crop) else { fatalError("out of memory for a \(crop)² RGB frame") }
        rgb = buffer.bindMemory(to: UInt8.self, capacity: rgbStride * crop)
        scale = (1 / (255 * std[0]), 1 / (255 * std[1]), 1 / (255 * std[2]))
        bias = (-mean[0] / std[0], -mean[1] / std[1], -mean[2] / std[2])
    }

    deinit {
        sws_freeContext(context)
        av_free(rgb)
    }

    /// Floats written per frame.
    var floatsPerFrame: Int { 3 * crop * crop }

    /// Scales, crops, rotates and normalises `frame` into `output` (`floatsPerFrame` floats).
    func convert(_ frame: UnsafeMutablePointer<AVFrame>, into output: UnsafeMutableBufferPointer<Float>) -> Bool {
        precondition(output.count >= floatsPerFrame, "output holds \(output.count) floats, need \(floatsPerFrame)")
        guard scaleToRGB(frame) else { return false }
        writeFloats(into: output)
        return true
    }

    /// Writes the cropped, scaled RGB24 picture (before rotation) into `rgb`.
    private func scaleToRGB(_ frame: UnsafeMutablePointer<AVFrame>) -> Bool {
        let f = frame.pointee
        let width = Int(f.width), height = Int(f.height)
        guard width > 0, height > 0, let desc = av_pix_fmt_desc_get(AVPixelFormat(f.format)) else { return false }
        let d = desc.pointee
        let isRGB = d.flags & UInt64(AV_PIX_FMT_FLAG_RGB) != 0
        let isPaletted = d.flags & UInt64(AV_PIX_FMT_FLAG_PAL) != 0
        let isBitstream = d.flags & UInt64(AV_PIX_FMT_FLAG_BITSTREAM) != 0

        // The centred square that becomes the crop after scaling the short side to `shortSide`,
        // its corner aligned to the chroma subsampling.
        let short = min(width, height)
        let side = min(short, max(1, Int((Double(short) * Double(crop) / Double(shortSide)).rounded())))
        let alignX = isBitstream ? 8 : 1 << Int(d.log2_chroma_w)
        let alignY = 1 << Int(d.log2_chroma_h)
        let x0 = ((width - side) / 2) / alignX * alignX
        let y0 = ((height - side) / 2) / alignY * alignY

        let newKey = Key(width: Int32(side), height: Int32(side), format: f.format, fullRange: Scaler.isFullRange(f),
                         colorspace: f.colorspace.rawValue)
        if key != newKey {
            context = Scaler.rgbContext(context, from: f, width: side, height: side, outputWidth: crop, outputHeight: crop,
                                        flags: SWS_BILINEAR)
            guard context != nil else { key = nil; return false }
            withUnsafeMutablePointer(to: &pixelSteps) {
                $0.withMemoryRebound(to: Int32.self, capacity: 4) { av_image_fill_max_pixsteps($0, nil, desc) }
            }
            key = newKey
        }
        guard let context else { return false }

        // Plane pointers moved to the crop's corner, as FFmpeg's crop filter does.
        var data = f.data
        let steps = pixelSteps
        withUnsafeMutableBytes(of: &data) { raw in
            let planes = raw.bindMemory(to: UnsafeMutablePointer<UInt8>?.self)
            for p in 0..<4 {
                guard let base = planes[p], !(isPaletted && p == 1) else { continue }
                let isChroma = (p == 1 || p == 2) && !isRGB
                let sx = isChroma ? Int(d.log2_chroma_w) : 0
                let sy = isChroma ? Int(d.log2_chroma_h) : 0
                let step = Int(p == 0 ? steps.0 : p == 1 ? steps.1 : p == 2 ? steps.2 : steps.3)
                let xBytes = isBitstream ? x0 / 8 : (x0 >> sx) * step
                let stride = Int(p == 0 ? f.linesize.0 : p == 1 ? f.linesize.1 : p == 2 ? f.linesize.2 : f.linesize.3)
                planes[p] = base + (y0 >> sy) * stride + xBytes
            }
        }
        var strides = f.linesize
        var destination = (Optional(rgb), UnsafeMutablePointer<UInt8>?.none, UnsafeMutablePointer<UInt8>?.none,
                           UnsafeMutablePointer<UInt8>?.none)
        var destinationStrides: (Int32, Int32, Int32, Int32) = (Int32(rgbStride), 0, 0, 0)
        return Scaler.scale(context, &data, &strides, rows: side, into: &destination, &destinationStrides) == Int32(crop)
    }

    /// Pixel formats whose name says full ("JPEG") range.
    private static let jpegRangeFormats: Set<AVPixelFormat> = [
        AV_PIX_FMT_YUVJ420P, AV_PIX_FMT_YUVJ422P, AV_PIX_FMT_YUVJ444P, AV_PIX_FMT_YUVJ440P, AV_PIX_FMT_YUVJ411P,
    ]

    /// One pass over the RGB crop: rotate by index mapping and normalise into three planes.
    private func writeFloats(into output: UnsafeMutableBufferPointer<Float>) {
        let n = crop, plane = n * n, stride = rgbStride
        let (s0, s1, s2) = scale
        let (b0, b1, b2) = bias
        let src = UnsafePointer(rgb)
        guard let out = output.baseAddress else { return }
        let r = out, g = out + plane, b = out + 2 * plane
        let (base, dy, dx) = Scaler.rotatedWalk(rotation: rotation, width: n, height: n, stride: stride, pixel: 3)
        for y in 0..<n {
            let row = src + base + y * dy
            let o = y * n
            for x in 0..<n {
                let p = row + x * dx
                r[o + x] = Float(p[0]) * s0 + b0
                g[o + x] = Float(p[1]) * s1 + b1
                b[o + x] = Float(p[2]) * s2 + b2
            }
        }
    }
}

// MARK: - Shared with `Thumbnail`

extension Scaler {
    /// Whether `frame` holds full-range ("JPEG") samples: its colour range says so, or its pixel format's name does.
    static func isFullRange(_ frame: AVFrame) -> Bool {
        frame.color_range == AVCOL_RANGE_JPEG || jpegRangeFormats.contains(AVPixelFormat(frame.format))
    }

    /// A swscale context from `width` × `height` pixels in `frame`'s format to `outputWidth` × `outputHeight` full-range
    /// RGB24, converting YUV with the frame's colour matrix (BT.601 when unspecified) and range. `cached` is reused when
    /// its parameters match and freed when not; nil when swscale cannot convert the format.
    static func rgbContext(
        _ cached: OpaquePointer?, from frame: AVFrame, width: Int, height: Int, outputWidth: Int, outputHeight: Int,
        flags: Int32
    ) -> OpaquePointer? {
        let format = AVPixelFormat(frame.format)
        guard let desc = av_pix_fmt_desc_get(format),
              let context = sws_getCachedContext(cached, Int32(width), Int32(height), format, Int32(outputWidth),
                                                 Int32(outputHeight), AV_PIX_FMT_RGB24, flags, nil, nil, nil)
        else { return nil }
        if desc.pointee.flags & UInt64(AV_PIX_FMT_FLAG_RGB) == 0 {
            let space = frame.colorspace == AVCOL_SPC_UNSPECIFIED ? SWS_CS_DEFAULT : Int32(frame.colorspace.rawValue)
            sws_setColorspaceDetails(context, sws_getCoefficients(space), isFullRange(frame) ? 1 : 0,
                                     sws_getCoefficients(SWS_CS_DEFAULT), 1, 0, 1 << 16, 1 << 16)
        }
        return context
    }

    /// `sws_scale` over plane pointers and strides held as `AVFrame` holds them: `Planes` a tuple of
    /// `UnsafeMutablePointer<UInt8>?`, `Strides` a tuple of `Int32`, each with an entry for every plane of its format.
    /// Scales `rows` source rows and returns the rows written.
    static func scale<Planes, Strides, OutputPlanes, OutputStrides>(
        _ context: OpaquePointer, _ source: inout Planes, _ sourceStrides: inout Strides, rows: Int,
        into output: inout OutputPlanes, _ outputStrides: inout OutputStrides
    ) -> Int32 {
        withUnsafeMutableBytes(of: &source) { src in
            withUnsafeMutableBytes(of: &sourceStrides) { srcStrides in
                withUnsafeMutableBytes(of: &output) { dst in
                    withUnsafeMutableBytes(of: &outputStrides) { dstStrides in
                        sws_scale(context, UnsafeRawPointer(src.baseAddress!).assumingMemoryBound(to: UnsafePointer<UInt8>?.self),
                                  srcStrides.baseAddress!.assumingMemoryBound(to: Int32.self), 0, Int32(rows),
                                  dst.baseAddress!.assumingMemoryBound(to: UnsafeMutablePointer<UInt8>?.self),
                                  dstStrides.baseAddress!.assumingMemoryBound(to: Int32.self))
                    }
                }
            }
        }
    }

    /// How to read a `width` × `height` picture (rows `stride` bytes apart, pixels `pixel` bytes wide) turned
    /// `rotation` degrees clockwise: pixel (y, x) of the turned picture is at byte `base + y * dy + x * dx`.
    static func rotatedWalk(rotation: Int, width: Int, height: Int, stride: Int, pixel: Int) -> (base: Int, dy: Int, dx: Int) {
        switch rotation {
        case 90: ((height - 1) * stride, pixel, -stride)
        case 180: ((height - 1) * stride + (width - 1) * pixel, -stride, -pixel)
        case 270: ((width - 1) * pixel, -pixel, stride)
        default: (0, stride, pixel)
        }
    }
}
