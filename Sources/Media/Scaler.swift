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
        let formatName = String(cString: d.name)
        let fullRange = f.color_range == AVCOL_RANGE_JPEG || formatName.hasPrefix("yuvj")

        // The centred square that becomes the crop after scaling the short side to `shortSide`.
        let short = min(width, height)
        let side = min(short, max(1, Int((Double(short) * Double(crop) / Double(shortSide)).rounded())))
        let isBitstream = d.flags & UInt64(AV_PIX_FMT_FLAG_BITSTREAM) != 0
        let alignX = isBitstream ? 8 : 1 << Int(d.log2_chroma_w)
        let alignY = 1 << Int(d.log2_chroma_h)
        let x0 = ((width - side) / 2) / alignX * alignX
        let y0 = ((height - side) / 2) / alignY * alignY

        let newKey = Key(width: Int32(side), height: Int32(side), format: f.format, fullRange: fullRange,
                         colorspace: f.colorspace.rawValue)
        if key != newKey {
            context = sws_getCachedContext(
                context, Int32(side), Int32(side), AVPixelFormat(f.format),
                Int32(crop), Int32(crop), AV_PIX_FMT_RGB24, SWS_BILINEAR, nil, nil, nil)
            guard let context else { key = nil; return false }
            if d.flags & UInt64(AV_PIX_FMT_FLAG_RGB) == 0 {
                let space = f.colorspace == AVCOL_SPC_UNSPECIFIED ? SWS_CS_DEFAULT : Int32(f.colorspace.rawValue)
                let table = sws_getCoefficients(space)
                sws_setColorspaceDetails(context, table, fullRange ? 1 : 0, sws_getCoefficients(SWS_CS_DEFAULT), 1,
                                         0, 1 << 16, 1 << 16)
            }
            key = newKey
        }

        var steps: (Int32, Int32, Int32, Int32) = (0, 0, 0, 0)
        withUnsafeMutablePointer(to: &steps) {
            $0.withMemoryRebound(to: Int32.self, capacity: 4) { av_image_fill_max_pixsteps($0, nil, desc) }
        }
        let stepList = [Int(steps.0), Int(steps.1), Int(steps.2), Int(steps.3)]
        let planes = [f.data.0, f.data.1, f.data.2, f.data.3]
        let strides = [f.linesize.0, f.linesize.1, f.linesize.2, f.linesize.3]
        let isPaletted = d.flags & UInt64(AV_PIX_FMT_FLAG_PAL) != 0
        var source = [UnsafePointer<UInt8>?](repeating: nil, count: 4)
        for p in 0..<4 {
            guard let base = planes[p] else { continue }
            if isPaletted && p == 1 { source[p] = UnsafePointer(base); continue }
            let isChroma = (p == 1 || p == 2) && d.flags & UInt64(AV_PIX_FMT_FLAG_RGB) == 0
            let sx = isChroma ? Int(d.log2_chroma_w) : 0
            let sy = isChroma ? Int(d.log2_chroma_h) : 0
            let xBytes = isBitstream ? x0 / 8 : (x0 >> sx) * stepList[p]
            source[p] = UnsafePointer(base + (y0 >> sy) * Int(strides[p]) + xBytes)
        }
        var destination: [UnsafeMutablePointer<UInt8>?] = [rgb, nil, nil, nil]
        let destinationStrides: [Int32] = [Int32(rgbStride), 0, 0, 0]
        let rows = sws_scale(context, source, strides, 0, Int32(side), &destination, destinationStrides)
        return rows == Int32(crop)
    }

    /// One pass over the RGB crop: rotate by index mapping and normalise into three planes.
    private func writeFloats(into output: UnsafeMutableBufferPointer<Float>) {
        let n = crop, plane = n * n, stride = rgbStride
        let (s0, s1, s2) = scale
        let (b0, b1, b2) = bias
        let src = UnsafePointer(rgb)
        guard let out = output.baseAddress else { return }
        let r = out, g = out + plane, b = out + 2 * plane
        // For output pixel (y, x): the source pixel offset is base + y * dy + x * dx.
        let (base, dy, dx): (Int, Int, Int) = switch rotation {
        case 90: ((n - 1) * stride, 3, -stride)
        case 180: ((n - 1) * stride + (n - 1) * 3, -stride, -3)
        case 270: ((n - 1) * 3, -3 + 0, stride)
        default: (0, stride, 3)
        }
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
