import Foundation

/// Rotary position embeddings: 1D (Llama, Gemma 3, with Llama 3 frequency scaling) and V-JEPA 2's 3D form.
public struct RoPE: Sendable {
    /// Inverse frequencies θᵢ, one per rotated pair (`headDim / 2` of them).
    public let inverseFrequencies: [Float]

    public init(inverseFrequencies: [Float]) { self.inverseFrequencies = inverseFrequencies }

    /// `1 / base^(2i/dim)`, evaluated in Float32 steps as PyTorch does.
    public static func defaultFrequencies(base: Double, dim: Int) -> [Float] {
        stride(from: 0, to: dim, by: 2).map { i in
            let exponent = Float(i) / Float(dim)
            return 1 / Float(pow(base, Double(exponent)))
        }
    }

    /// Llama 3's scaling: long wavelengths divided by `factor`, short ones kept, a smooth blend between.
    public static func llama3Frequencies(
        base: Double, dim: Int, factor: Double, lowFrequencyFactor: Double, highFrequencyFactor: Double,
        originalContext: Double
    ) -> [Float] {
        let lowWavelength = originalContext / lowFrequencyFactor
        let highWavelength = originalContext / highFrequencyFactor
        return defaultFrequencies(base: base, dim: dim).map { f in
            let inv = Double(f)
            let wavelength = 2 * Double.pi / inv
            if wavelength < highWavelength { return f }
            if wavelength > lowWavelength { return Float(inv / factor) }
            let smooth = (originalContext / wavelength - lowFrequencyFactor) / (highFrequencyFactor - lowFrequencyFactor)
            return Float((1 - smooth) * inv / factor + smooth * inv)
        }
    }

    /// Cosine and sine tables [positions × pairs]; angles are `Float(position) · θᵢ` rounded to Float32 first.
    public func tables(positions: Range<Int>) -> (cos: [Float], sin: [Float]) {
        let pairs = inverseFrequencies.count
        var c = [Float](repeating: 0, count: positions.count * pairs)
        var s = c
        for (row, p) in positions.enumerated() {
            for i in 0..<pairs {
                let angle = Double(Float(p) * inverseFrequencies[i])
                c[row * pairs + i] = Float(Foundation.cos(angle))
                s[row * pairs + i] = Float(Foundation.sin(angle))
            }
        }
        return (c, s)
    }

    /// Rotates the first `2·pairs` dims of every head, "rotate half" layout: dim `i` pairs with `i + pairs`.
    ///
    /// `x` is [rows × stride] token-major, row `r` uses table row `r`; `heads` heads of `headDim` each.
    public static func applyHalf(
        _ x: UnsafeMutablePointer<Float>, rows: Int, stride: Int, heads: Int, headDim: Int,
        cos: UnsafePointer<Float>, sin: UnsafePointer<Float>, pairs: Int
    ) {
        Parallel.ranges(rows, minimum: 64) { range in
            for r in range {
                let c = cos + r * pairs, s = sin + r * pairs
                for h in 0..<heads {
                    let v = x + r * stride + h * headDim
                    for i in 0..<pairs {
                        let a = v[i], b = v[i + pairs]
                        v[i] = a * c[i] - b * s[i]
                        v[i + pairs] = b * c[i] + a * s[i]
                    }
                }
            }
        }
    }
}

/// V-JEPA 2's 3D RoPE: each head splits into depth, height and width sections of `2·((headDim/3)/2)` dims,
/// rotated by the token's frame, row and column; any remaining dims stay unrotated.
///
/// Inside a section of `S` dims, pairs are interleaved (`2i`, `2i+1`) and dim `j` uses frequency `j mod S/2`,
/// exactly as `rotate_queries_or_keys` in transformers' `modeling_vjepa2.py` (sin/cos repeated, not interleaved).
public struct RoPE3D: Sendable {
    public let headDim: Int
    public let sectionDim: Int
    public let gridHeight: Int
    public let gridWidth: Int
    /// cos/sin per position value and frequency: [maxPosition × S/2].
    private let cosTable: [Float]
    private let sinTable: [Float]
    private let maxPosition: Int

    /// Positions come from the flat token index with `gridHeight × gridWidth` tokens per frame.
    public init(headDim: Int, gridHeight: Int, gridWidth: Int, maxPosition: Int) {
        self.headDim = headDim
        self.sectionDim = 2 * ((headDim / 3) / 2)
        self.gridHeight = gridHeight
        self.gridWidth = gridWidth
        self.maxPosition = maxPosition
        let half = sectionDim / 2
        var omega = [Float](repeating: 0, count: half)
        for i in 0..<half {
            let e = Float(i) / (Float(sectionDim) / 2)
            omega[i] = 1 / Float(pow(10_000.0, Double(e)))
        }
        var c = [Float](repeating: 0, count: maxPosition * half)
        var s = c
        for p in 0..<maxPosition {
            for i in 0..<half {
                let angle = Double(Float(p) * omega[i])
                c[p * half + i] = Float(Foundation.cos(angle))
                s[p * half + i] = Float(Foundation.sin(angle))
            }
        }
        cosTable = c
        sinTable = s
    }

    /// Rotates queries or keys [tokens × stride] in place; row `n`'s positions derive from `n mod tokensPerClip`
    /// (several clips stacked row-wise restart their positions).
    public func apply(_ x: UnsafeMutablePointer<Float>, tokens: Int, stride: Int, heads: Int, tokensPerClip: Int? = nil) {
        guard sectionDim > 0 else { return }
        cosTable.withUnsafeBufferPointer { cb in
            sinTable.withUnsafeBufferPointer { sb in
                let cos = cb.baseAddress!, sin = sb.baseAddress!
                Parallel.ranges(tokens, minimum: 64) { range in
                    for token in range {
                        rotate(x + token * stride, token: token % (tokensPerClip ?? tokens), heads: heads, cos: cos, sin: sin)
                    }
                }
            }
        }
    }

    /// Rotates all heads of one token at flat index `n` within its clip.
    @inline(__always) private func rotate(
        _ v: UnsafeMutablePointer<Float>, token n: Int, heads: Int, cos: UnsafePointer<Float>, sin: UnsafePointer<Float>
    ) {
        let perFrame = gridHeight * gridWidth
        let frame = n / perFrame
        let row = (n - frame * perFrame) / gridWidth
        let col = n - frame * perFrame - row * gridWidth
        let half = sectionDim / 2
        for h in 0..<heads {
            for section in 0..<3 {
                let p = section == 0 ? frame : (section == 1 ? row : col)
                precondition(p < maxPosition, "position \(p) beyond the RoPE table")
                let c = cos + p * half, s = sin + p * half
                let base = v + h * headDim + section * sectionDim
                var i = 0
                while i < sectionDim {
                    let j0 = i % half, j1 = (i + 1) % half
                    let a = base[i], b = base[i + 1]
                    base[i] = a * c[j0] - b * s[j0]
                    base[i + 1] = b * c[j1] + a * s[j1]
                    i += 2
                }
            }
        }
    }
}
