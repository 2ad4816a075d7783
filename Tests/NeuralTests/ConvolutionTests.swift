import Foundation
import Testing
import TestSupport
@testable import Neural

/// Every value within `abs + rel·|expected|` (`toleranceMismatch`: NaN or infinity in `actual` fails).
func expectNear(_ actual: [Float], _ expected: [Double], rel: Double = 1e-5, abs: Double = 1e-5,
                sourceLocation: SourceLocation = #_sourceLocation) {
    let mismatch = toleranceMismatch(actual, expected, rel: rel, abs: abs)
    #expect(mismatch == nil, "\(mismatch ?? "")", sourceLocation: sourceLocation)
}

/// Reference convolutions in Double with explicit loops over NCHW tensors (PyTorch's layout and weight layout).
enum Naive {
    /// Padding before, and output size, along one axis, written out from TensorFlow's and PyTorch's definitions.
    static func axis(_ n: Int, kernel k: Int, stride s: Int, padding: ConvPadding) -> (before: Int, out: Int) {
        switch padding {
        case .same:
            let out = Int((Double(n) / Double(s)).rounded(.up))
            return (Swift.max((out - 1) * s + k - n, 0) / 2, out)
        case .symmetric:
            let p = (k - 1) / 2
            return (p, (n + 2 * p - k) / s + 1)
        }
    }

    /// `groups` = 1 (dense) or the channel count (depthwise); weight [out, in/groups, k, k]; output NCHW.
    static func conv(_ x: [Float], images: Int, channels: Int, height: Int, width: Int, weight: [Float], bias: [Float],
                     out: Int, kernel k: Int, stride s: Int, padding: ConvPadding, groups: Int, relu6: Bool)
        -> (values: [Double], height: Int, width: Int) {
        let (top, oh) = axis(height, kernel: k, stride: s, padding: padding)
        let (left, ow) = axis(width, kernel: k, stride: s, padding: padding)
        let perGroupIn = channels / groups, perGroupOut = out / groups
        var y = [Double](repeating: 0, count: images * out * oh * ow)
        for n in 0..<images {
            for o in 0..<out {
                let g = o / perGroupOut
                for oy in 0..<oh {
                    for ox in 0..<ow {
                        var acc = Double(bias[o])
                        for ci in 0..<perGroupIn {
                            let c = g * perGroupIn + ci
                            for ky in 0..<k {
                                for kx in 0..<k {
                                    let iy = oy * s + ky - top, ix = ox * s + kx - left
                                    guard iy >= 0, iy < height, ix >= 0, ix < width else { continue }
                                    acc += Double(x[((n * channels + c) * height + iy) * width + ix])
                                        * Double(weight[((o * perGroupIn + ci) * k + ky) * k + kx])
                                }
                            }
                        }
                        y[((n * out + o) * oh + oy) * ow + ox] = relu6 ? Swift.min(Swift.max(acc, 0), 6) : acc
                    }
                }
            }
        }
        return (y, oh, ow)
    }

    static func toNHWC<T>(_ x: [T], images: Int, channels: Int, height: Int, width: Int) -> [T] {
        var y = x
        for n in 0..<images { for c in 0..<channels { for p in 0..<(height * width) {
            y[(n * height * width + p) * channels + c] = x[(n * channels + c) * height * width + p]
        } } }
        return y
    }
}

@Suite struct ConvolutionTests {
    @Test func windowMatchesTensorFlowAndPyTorchPadding() {
        for n in 1...40 {
            for k in [1, 3, 5, 7] {
                for s in [1, 2, 3] {
                    for padding in [ConvPadding.same, .symmetric] {
                        let w = ConvWindow(height: n, width: n + 1, kernel: k, stride: s, padding: padding)
                        let rows = Naive.axis(n, kernel: k, stride: s, padding: padding)
                        let cols = Naive.axis(n + 1, kernel: k, stride: s, padding: padding)
                        #expect(w.outHeight == rows.out && w.padTop == rows.before, "n \(n) k \(k) s \(s) \(padding)")
                        #expect(w.outWidth == cols.out && w.padLeft == cols.before, "n \(n + 1) k \(k) s \(s) \(padding)")
                    }
                }
            }
        }
        // TensorFlow's SAME puts the odd row after: 224 → 112 with k 3, s 2 pads 0 above and 1 below.
        let stem = ConvWindow(height: 224, width: 224, kernel: 3, stride: 2, padding: .same)
        #expect(stem.outHeight == 112 && stem.padTop == 0)
        let five = ConvWindow(height: 56, width: 56, kernel: 5, stride: 2, padding: .same)
        #expect(five.outHeight == 28 && five.padTop == 1)
    }

    static let depthwiseCases: [(channels: Int, height: Int, width: Int, kernel: Int, stride: Int)] = [
        (13, 9, 11, 3, 1), (13, 9, 11, 3, 2), (13, 10, 7, 5, 1), (13, 10, 7, 5, 2),
        (24, 12, 13, 3, 1), (24, 12, 13, 5, 2), (24, 6, 17, 5, 1), (24, 16, 16, 3, 2),
        (8, 3, 2, 5, 1), (19, 11, 9, 7, 1), (17, 8, 9, 1, 1), (5, 7, 7, 3, 3),
        (40, 7, 7, 5, 1), (37, 9, 14, 3, 2), (37, 5, 5, 5, 2), (72, 14, 14, 5, 1),
    ]

    @Test(arguments: depthwiseCases, [ConvPadding.same, .symmetric])
    func depthwiseMatchesNaive(_ shape: (channels: Int, height: Int, width: Int, kernel: Int, stride: Int), _ padding: ConvPadding) {
        let (c, h, w, k, s) = shape
        let images = 2
        var rng = SplitMix64(seed: UInt64(c * 1000 + h * 100 + w * 10 + k + s))
        let x = rng.floats(images * c * h * w, scale: 2)
        let weight = rng.floats(c * k * k), bias = rng.floats(c)
        for relu6 in [false, true] {
            let conv = DepthwiseConv(weight: Parameter(shape: [c, 1, k, k], scalars: weight), bias: Parameter(shape: [c], scalars: bias),
                                     stride: s, padding: padding, activation: relu6 ? .relu6 : .identity)
            let expected = Naive.conv(x, images: images, channels: c, height: h, width: w, weight: weight, bias: bias,
                                      out: c, kernel: k, stride: s, padding: padding, groups: c, relu6: relu6)
            let window = conv.window(height: h, width: w)
            #expect(window.outHeight == expected.height && window.outWidth == expected.width)
            let input = Naive.toNHWC(x, images: images, channels: c, height: h, width: w)
            var y = [Float](repeating: .nan, count: images * window.outPixels * c)
            input.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { yp in
                conv(xp.baseAddress!, images: images, height: h, width: w, into: yp.baseAddress!)
            } }
            expectNear(y, Naive.toNHWC(expected.values, images: images, channels: c, height: expected.height, width: expected.width))
        }
    }

    @Test(arguments: [(37, 19, 70), (300, 19, 70), (300, 24, 13), (9, 96, 24), (1, 8, 128), (700, 32, 16), (20, 40, 200), (5, 3, 1)])
    func pointwiseMatchesNaive(_ shape: (pixels: Int, inChannels: Int, outChannels: Int)) {
        let (pixels, cin, cout) = shape
        var rng = SplitMix64(seed: UInt64(pixels * 31 + cin * 7 + cout))
        let x = rng.floats(pixels * cin, scale: 2), weight = rng.floats(cout * cin), bias = rng.floats(cout)
        let residual = rng.floats(pixels * cout)
        func expected(relu6: Bool, plus: [Float]?) -> [Double] {
            (0..<(pixels * cout)).map { i in
                let p = i / cout, o = i % cout
                var acc = Double(bias[o])
                for j in 0..<cin { acc += Double(x[p * cin + j]) * Double(weight[o * cin + j]) }
                if let plus { return acc + Double(plus[i]) }
                return relu6 ? Swift.min(Swift.max(acc, 0), 6) : acc
            }
        }
        // Both paths: the packed AVX2 kernel (where the CPU has it) and OpenBLAS.
        for relu6 in [false, true] { for products in [ConvProducts.preferred, .openBLAS] {
            let conv = PointwiseConv(weight: Parameter(shape: [cout, cin, 1, 1], scalars: weight), bias: Parameter(shape: [cout], scalars: bias),
                                     activation: relu6 ? .relu6 : .identity, products: products)
            var y = [Float](repeating: .nan, count: pixels * cout)
            var sum = residual
            x.withUnsafeBufferPointer { xp in
                y.withUnsafeMutableBufferPointer { conv(xp.baseAddress!, pixels: pixels, into: $0.baseAddress!) }
                sum.withUnsafeMutableBufferPointer { conv(xp.baseAddress!, pixels: pixels, into: $0.baseAddress!, accumulate: true) }
            }
            expectNear(y, expected(relu6: relu6, plus: nil))
            // A residual add skips the activation.
            expectNear(sum, expected(relu6: false, plus: residual))
        } }
    }

    @Test(arguments: [(3, 9, 10, 3, 2), (3, 64, 62, 3, 2), (2, 7, 5, 5, 1), (4, 6, 6, 3, 1)],
          [ConvPadding.same, .symmetric])
    func denseFromNCHWMatchesNaive(_ shape: (channels: Int, height: Int, width: Int, kernel: Int, stride: Int), _ padding: ConvPadding) {
        let (c, h, w, k, s) = shape
        let images = 2, out = 11
        var rng = SplitMix64(seed: UInt64(c * 1000 + h * 10 + k + s))
        let x = rng.floats(images * c * h * w, scale: 2)
        let weight = rng.floats(out * c * k * k), bias = rng.floats(out)
        let expected = Naive.conv(x, images: images, channels: c, height: h, width: w, weight: weight, bias: bias,
                                  out: out, kernel: k, stride: s, padding: padding, groups: 1, relu6: true)
        for products in [ConvProducts.preferred, .openBLAS] {
            let conv = Conv2D(weight: Parameter(shape: [out, c, k, k], scalars: weight), bias: Parameter(shape: [out], scalars: bias),
                              stride: s, padding: padding, activation: .relu6, products: products)
            let window = conv.window(height: h, width: w)
            var y = [Float](repeating: .nan, count: images * window.outPixels * out)
            x.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { yp in
                conv(xp.baseAddress!, images: images, height: h, width: w, into: yp.baseAddress!)
            } }
            expectNear(y, Naive.toNHWC(expected.values, images: images, channels: out, height: expected.height, width: expected.width))
        }
    }

    @Test func meanPoolAveragesEachImagesPixels() {
        var rng = SplitMix64(seed: 9)
        let images = 3, pixels = 49, channels = 21
        let x = rng.floats(images * pixels * channels, scale: 3)
        var out = [Float](repeating: .nan, count: images * channels)
        x.withUnsafeBufferPointer { xp in out.withUnsafeMutableBufferPointer {
            Kernels.meanPool(xp.baseAddress!, images: images, pixels: pixels, channels: channels, into: $0.baseAddress!)
        } }
        let expected = (0..<(images * channels)).map { i in
            (0..<pixels).reduce(0.0) { $0 + Double(x[((i / channels) * pixels + $1) * channels + i % channels]) } / Double(pixels)
        }
        expectNear(out, expected)
    }

    @Test func comparisonFailsOnNaN() {
        // The helper the tests above rely on: a NaN where a number is expected must count as a failure.
        #expect(toleranceMismatch([1, .nan, 3] as [Float], [1, 2, 3] as [Double], rel: 1, abs: 1) != nil)
        #expect(toleranceMismatch([.infinity] as [Float], [1e30] as [Double], rel: 1, abs: 1) != nil)
    }
}
