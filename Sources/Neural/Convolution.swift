import CKernels

// 2D convolutions for CNNs over images, with activations laid out NHWC (pixel rows of channels) inside the network,
// so that a 1×1 convolution is one GEMM over pixels and a depthwise one vectorises across channels.
//
// Each layer adds its bias and applies its activation while its output is still in cache (per tile of pixels after a
// GEMM, per vector in the depthwise kernel) and splits its work over `Neural.threads` workers.

/// How a convolution pads its input.
public enum ConvPadding: String, Sendable, CaseIterable {
    /// TensorFlow's `SAME`: ⌈n / stride⌉ outputs; the total padding max((out − 1)·stride + k − n, 0) is split with the
    /// smaller half before (top, left) and the rest after (bottom, right).
    case same
    /// (k − 1) / 2 zeros on every side (PyTorch's `padding=k // 2` for odd k).
    case symmetric
}

/// The activation a convolution applies to its output (after the bias).
public enum ConvActivation: Sendable {
    /// None: the bias only.
    case identity
    /// `min(max(x, 0), 6)`, MobileNet's and EfficientNet-Lite's.
    case relu6
}

/// Where a k×k window with a stride reads an input of `height × width`: the output size and the padding before.
public struct ConvWindow: Sendable, Equatable {
    public let kernel: Int
    public let stride: Int
    /// The input's size, pixels.
    public let height: Int
    public let width: Int
    /// The output's size, pixels.
    public let outHeight: Int
    public let outWidth: Int
    /// Zero rows above and columns left of the input; those below and right follow from the output size.
    public let padTop: Int
    public let padLeft: Int

    /// - Precondition: every size is at least 1.
    public init(height: Int, width: Int, kernel: Int, stride: Int, padding: ConvPadding) {
        precondition(height >= 1 && width >= 1 && kernel >= 1 && stride >= 1, "empty convolution window")
        func axis(_ n: Int) -> (out: Int, before: Int) {
            switch padding {
            case .same:
                let out = (n + stride - 1) / stride
                return (out, max((out - 1) * stride + kernel - n, 0) / 2)
            case .symmetric:
                let p = (kernel - 1) / 2
                return (n + 2 * p < kernel ? 0 : (n + 2 * p - kernel) / stride + 1, p)
            }
        }
        (self.kernel, self.stride, self.height, self.width) = (kernel, stride, height, width)
        (outHeight, padTop) = axis(height)
        (outWidth, padLeft) = axis(width)
    }

    /// Output pixels per image.
    public var outPixels: Int { outHeight * outWidth }
}

/// How a convolution multiplies its pixel rows by its weight.
enum ConvProducts: Sendable {
    /// `cblas_sgemm`, which packs the weight again on every call.
    case openBLAS
    /// The weight packed once, at load, into 16-column panels for the AVX2/FMA kernel of `CKernels`: the layers'
    /// small channel counts (k of 16 to 1152) and the many calls per image are where OpenBLAS's repacking costs most.
    case packed

    /// Packed where the CPU has AVX2 and FMA.
    static let preferred: ConvProducts = vj_kernels_available() != 0 ? .packed : .openBLAS
}

/// A weight [out, in] as the right-hand side Wᵀ [in × out] of `vj_sgemm_packed`, packed into 16-column panels.
final class PackedWeight: @unchecked Sendable {
    /// Immutable after `init`.
    let panels: UnsafeMutablePointer<Float>

    init(_ weight: Parameter) {
        let (out, inputs) = (weight.shape[0], weight.shape[1])
        panels = .allocate(capacity: max(1, vj_packed_size(Int32(inputs), Int32(out))))
        // Wᵀ[k, j] = W[j, k]: stride 1 along k and `inputs` along j.
        vj_pack_panels(weight.pointer, 1, inputs, Int32(inputs), Int32(out), panels)
    }

    deinit { panels.deallocate() }

    /// Columns `columns` of `y[rows × ld] = x[rows × k] · Wᵀ`, `columns` starting on a multiple of 16.
    func product(_ x: UnsafePointer<Float>, rows: Int, k: Int, columns: Range<Int>, into y: UnsafeMutablePointer<Float>,
                 ld: Int, accumulate: Bool) {
        vj_sgemm_packed(Int32(rows), Int32(columns.count), Int32(k), 1, x, k, panels + columns.lowerBound * k,
                        y + columns.lowerBound, ld, accumulate ? 1 : 0)
    }
}

/// A 1×1 convolution over NHWC pixels: `y[pixels × out] = act(x[pixels × in] · Wᵀ + b)`, one GEMM per tile of
/// pixels with the bias and activation applied to the tile while it is still in cache.
public struct PointwiseConv: Sendable {
    /// [out, in] (PyTorch's [out, in, 1, 1] without the unit axes).
    public let weight: Parameter
    public let bias: Parameter
    public let activation: ConvActivation
    public let inChannels: Int
    public let outChannels: Int
    /// The weight packed for `ConvProducts.packed`; nil on the OpenBLAS path.
    let packed: PackedWeight?

    /// - Parameter weight: [out, in, 1, 1] or [out, in].
    public init(weight: Parameter, bias: Parameter, activation: ConvActivation) {
        self.init(weight: weight, bias: bias, activation: activation, products: .preferred)
    }

    init(weight: Parameter, bias: Parameter, activation: ConvActivation, products: ConvProducts) {
        precondition(weight.shape.count >= 2 && weight.shape.dropFirst(2).allSatisfy { $0 == 1 }, "not a 1×1 weight: \(weight.shape)")
        outChannels = weight.shape[0]
        inChannels = weight.shape[1]
        precondition(bias.shape == [outChannels], "bias \(bias.shape) for \(outChannels) channels")
        self.weight = weight.reshaped([outChannels, inChannels])
        self.bias = bias
        self.activation = activation
        packed = products == .packed ? PackedWeight(self.weight) : nil
    }

    public var parameterCount: Int { weight.count + bias.count }

    /// Pixels per GEMM: a tile of input and output rows of about 128 KiB, so the epilogue reads it from L2.
    var tileRows: Int { min(512, max(16, 32_768 / (inChannels + outChannels)) / 8 * 8) }

    /// Convolves `pixels` rows of `x` [pixels × in] into `y` [pixels × out]. With `accumulate`, adds the
    /// convolution (and bias) to `y` instead, without the activation: a residual connection in place.
    /// Workers split the pixels, or the output channels when there are few pixels.
    public func callAsFunction(
        _ x: UnsafePointer<Float>, pixels: Int, into y: UnsafeMutablePointer<Float>, accumulate: Bool = false
    ) {
        guard pixels > 0 else { return }
        if pixels >= 32 * Neural.threads || outChannels < 64 {
            Parallel.ranges(pixels, minimum: 16) { rows in
                var r = rows.lowerBound
                while r < rows.upperBound {
                    let n = min(tileRows, rows.upperBound - r)
                    block(x, rows: r..<(r + n), columns: 0..<outChannels, into: y, accumulate: accumulate)
                    r += n
                }
            }
        } else {
            // Panels of 16 columns (the packed kernel's width), the last range taking the remainder.
            Parallel.ranges(outChannels / 16, minimum: 2) { panels in
                let end = panels.upperBound == outChannels / 16 ? outChannels : panels.upperBound * 16
                block(x, rows: 0..<pixels, columns: (panels.lowerBound * 16)..<end, into: y, accumulate: accumulate)
            }
        }
    }

    private func block(
        _ x: UnsafePointer<Float>, rows: Range<Int>, columns: Range<Int>, into y: UnsafeMutablePointer<Float>,
        accumulate: Bool
    ) {
        let k = inChannels, ld = outChannels
        let out = y + rows.lowerBound * ld + columns.lowerBound
        if let packed {
            packed.product(x + rows.lowerBound * k, rows: rows.count, k: k, columns: columns, into: y + rows.lowerBound * ld,
                           ld: ld, accumulate: accumulate)
        } else {
            GEMM.sgemm(transB: true, m: rows.count, n: columns.count, k: k, a: x + rows.lowerBound * k, lda: k,
                       b: weight.pointer + columns.lowerBound * k, ldb: k, beta: accumulate ? 1 : 0, c: out, ldc: ld)
        }
        Kernels.biasActivate(out, rows: rows.count, columns: columns.count, ld: ld,
                             bias: bias.pointer + columns.lowerBound, accumulate ? .identity : activation)
    }
}

/// A depthwise k×k convolution (one filter per channel, `groups = channels`) over NHWC images, vectorised across
/// channels.
public struct DepthwiseConv: Sendable {
    public let channels: Int
    public let kernel: Int
    public let stride: Int
    public let padding: ConvPadding
    public let activation: ConvActivation
    /// Tap-major [k·k × channels]: PyTorch's [channels, 1, k, k] transposed, so a tap's weights are contiguous.
    let taps: Parameter
    public let bias: Parameter

    /// - Parameter weight: PyTorch's [channels, 1, k, k].
    public init(weight: Parameter, bias: Parameter, stride: Int, padding: ConvPadding, activation: ConvActivation) {
        precondition(weight.shape.count == 4 && weight.shape[1] == 1 && weight.shape[2] == weight.shape[3],
                     "not a square depthwise weight: \(weight.shape)")
        precondition(stride >= 1)
        channels = weight.shape[0]
        kernel = weight.shape[2]
        precondition(bias.shape == [channels], "bias \(bias.shape) for \(channels) channels")
        let kk = kernel * kernel
        let transposed = UnsafeMutablePointer<Float>.allocate(capacity: max(1, kk * channels))
        for c in 0..<channels {
            for t in 0..<kk { transposed[t * channels + c] = weight.pointer[c * kk + t] }
        }
        taps = Parameter(shape: [kk, channels], adopting: transposed)
        self.bias = bias
        self.stride = stride
        self.padding = padding
        self.activation = activation
    }

    public var parameterCount: Int { taps.count + bias.count }

    /// The output geometry for an input of `height × width`.
    public func window(height: Int, width: Int) -> ConvWindow {
        ConvWindow(height: height, width: width, kernel: kernel, stride: stride, padding: padding)
    }

    /// Convolves `images` NHWC images [images × height × width × channels] into `y`
    /// [images × outHeight × outWidth × channels]. Workers split the output rows of all images.
    public func callAsFunction(
        _ x: UnsafePointer<Float>, images: Int, height: Int, width: Int, into y: UnsafeMutablePointer<Float>
    ) {
        let window = window(height: height, width: width)
        let rows = images * window.outHeight
        // A row of output costs about outWidth · channels · k² multiply-adds; keep ranges above ~50k of them.
        let minimum = max(1, 50_000 / max(1, window.outWidth * channels * kernel * kernel))
        Parallel.ranges(rows, minimum: minimum) { range in
            for r in range {
                let image = r / window.outHeight, oy = r % window.outHeight
                Kernels.depthwiseRow(
                    x + image * height * width * channels, window: window, channels: channels, row: oy,
                    taps: taps.pointer, bias: bias.pointer, activation: activation,
                    into: y + (image * window.outPixels + oy * window.outWidth) * channels)
            }
        }
    }
}

/// A dense k×k convolution from NCHW images (a network's input) to NHWC output, as an im2col copy and a GEMM per
/// tile of output pixels, the bias and activation applied to each tile.
public struct Conv2D: Sendable {
    /// [out, in·k·k], columns in PyTorch's (in, ky, kx) order.
    public let weight: Parameter
    public let bias: Parameter
    public let inChannels: Int
    public let outChannels: Int
    public let kernel: Int
    public let stride: Int
    public let padding: ConvPadding
    public let activation: ConvActivation
    let packed: PackedWeight?

    /// - Parameter weight: PyTorch's [out, in, k, k].
    public init(weight: Parameter, bias: Parameter, stride: Int, padding: ConvPadding, activation: ConvActivation) {
        self.init(weight: weight, bias: bias, stride: stride, padding: padding, activation: activation, products: .preferred)
    }

    init(weight: Parameter, bias: Parameter, stride: Int, padding: ConvPadding, activation: ConvActivation,
         products: ConvProducts) {
        precondition(weight.shape.count == 4 && weight.shape[2] == weight.shape[3], "not a square conv weight: \(weight.shape)")
        precondition(stride >= 1)
        (outChannels, inChannels, kernel) = (weight.shape[0], weight.shape[1], weight.shape[2])
        precondition(bias.shape == [outChannels], "bias \(bias.shape) for \(outChannels) channels")
        self.weight = weight.reshaped([outChannels, inChannels * kernel * kernel])
        self.bias = bias
        self.stride = stride
        self.padding = padding
        self.activation = activation
        packed = products == .packed ? PackedWeight(self.weight) : nil
    }

    public var parameterCount: Int { weight.count + bias.count }

    /// The output geometry for an input of `height × width`.
    public func window(height: Int, width: Int) -> ConvWindow {
        ConvWindow(height: height, width: width, kernel: kernel, stride: stride, padding: padding)
    }

    /// Convolves `images` NCHW images [images × in × height × width] into NHWC `y` [images × outHeight × outWidth × out].
    public func callAsFunction(
        _ x: UnsafePointer<Float>, images: Int, height: Int, width: Int, into y: UnsafeMutablePointer<Float>
    ) {
        let window = window(height: height, width: width)
        let pixels = images * window.outPixels
        let columns = inChannels * kernel * kernel
        let tile = min(256, max(8, 16_384 / columns))
        Parallel.ranges(pixels, minimum: 64) { range in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: tile * columns) { patches in
                var p = range.lowerBound
                while p < range.upperBound {
                    let n = min(tile, range.upperBound - p)
                    Kernels.im2col(x, channels: inChannels, window: window, pixels: p..<(p + n), into: patches.baseAddress!)
                    let out = y + p * outChannels
                    if let packed {
                        packed.product(patches.baseAddress!, rows: n, k: columns, columns: 0..<outChannels, into: out,
                                       ld: outChannels, accumulate: false)
                    } else {
                        GEMM.sgemm(transB: true, m: n, n: outChannels, k: columns, a: patches.baseAddress!, lda: columns,
                                   b: weight.pointer, ldb: columns, c: out, ldc: outChannels)
                    }
                    Kernels.biasActivate(out, rows: n, columns: outChannels, ld: outChannels, bias: bias.pointer, activation)
                    p += n
                }
            }
        }
    }
}
