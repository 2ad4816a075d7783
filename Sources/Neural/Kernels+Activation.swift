/// Activation functions and gated MLP products, in place over flat buffers.
public enum Activation: String, Sendable, Codable {
    /// GELU with the exact erf form, PyTorch's default (`gelu`).
    case gelu
    /// GELU with the tanh approximation (`gelu_pytorch_tanh`, `gelu_new`).
    case geluTanh = "gelu_pytorch_tanh"
    /// SiLU / swish.
    case silu
    case relu
    case identity

    /// Parses Hugging Face's `hidden_act` names.
    public init?(huggingFace name: String) {
        switch name {
        case "gelu": self = .gelu
        case "gelu_pytorch_tanh", "gelu_new", "gelu_fast", "gelu_tanh": self = .geluTanh
        case "silu", "swish": self = .silu
        case "relu": self = .relu
        case "identity", "linear": self = .identity
        default: return nil
        }
    }
}

/// One activation as a type, so that each loop below is specialised for it and the polynomial is inlined into
/// the loop (a closure or a switch per vector would cost a call per eight values).
protocol VectorFunction {
    static func apply(_ x: Vec) -> Vec
}

extension Kernels {
    enum GELU: VectorFunction {
        @inline(__always) static func apply(_ x: Vec) -> Vec {
            0.5 * x * (1 + erf(x * 0.707_106_781_186_547_5))
        }
    }

    enum GELUTanh: VectorFunction {
        @inline(__always) static func apply(_ x: Vec) -> Vec {
            0.5 * x * (1 + tanh(0.797_884_560_802_865_4 * (x + 0.044_715 * x * x * x)))
        }
    }

    enum SiLU: VectorFunction {
        @inline(__always) static func apply(_ x: Vec) -> Vec { x / (1 + exp(-x)) }
    }

    enum ReLU: VectorFunction {
        @inline(__always) static func apply(_ x: Vec) -> Vec { x.replacing(with: 0, where: x .< 0) }
    }

    enum Identity: VectorFunction {
        @inline(__always) static func apply(_ x: Vec) -> Vec { x }
    }

    /// `x = act(x)` in place.
    public static func activate(_ x: UnsafeMutablePointer<Float>, count: Int, _ activation: Activation) {
        switch activation {
        case .gelu: gated(x, up: nil, count: count, GELU.self)
        case .geluTanh: gated(x, up: nil, count: count, GELUTanh.self)
        case .silu: gated(x, up: nil, count: count, SiLU.self)
        case .relu: gated(x, up: nil, count: count, ReLU.self)
        case .identity: break
        }
    }

    /// Gated MLP product: `gate = act(gate) * up` (SwiGLU with `.silu`, GeGLU with `.gelu` / `.geluTanh`).
    public static func gated(
        _ gate: UnsafeMutablePointer<Float>, up: UnsafePointer<Float>, count: Int, _ activation: Activation
    ) {
        switch activation {
        case .gelu: gated(gate, up: up, count: count, GELU.self)
        case .geluTanh: gated(gate, up: up, count: count, GELUTanh.self)
        case .silu: gated(gate, up: up, count: count, SiLU.self)
        case .relu: gated(gate, up: up, count: count, ReLU.self)
        case .identity: gated(gate, up: up, count: count, Identity.self)
        }
    }

    /// `gate = F(gate) * up`, or `gate = F(gate)` without `up`, split over the workers.
    static func gated<F: VectorFunction>(
        _ gate: UnsafeMutablePointer<Float>, up: UnsafePointer<Float>?, count: Int, _ f: F.Type
    ) {
        Parallel.ranges(Swift.max(1, count / lanes), minimum: 2048) { r in
            let start = r.lowerBound * lanes
            let end = r.upperBound >= count / lanes ? count : r.upperBound * lanes
            var i = start
            if let up {
                while i + lanes <= end { store(F.apply(load(gate + i)) * load(up + i), gate + i); i += lanes }
            } else {
                while i + lanes <= end { store(F.apply(load(gate + i)), gate + i); i += lanes }
            }
            if i < end {
                var g = Vec(), u = Vec(repeating: 1)
                for j in 0..<(end - i) { g[j] = gate[i + j]; if let up { u[j] = up[i + j] } }
                let y = F.apply(g) * u
                for j in 0..<(end - i) { gate[i + j] = y[j] }
            }
        }
    }
}
