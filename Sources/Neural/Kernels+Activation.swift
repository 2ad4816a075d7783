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

extension Kernels {
    @inline(__always) static func apply(_ activation: Activation, _ x: Vec) -> Vec {
        switch activation {
        case .gelu:
            return 0.5 * x * (1 + erf(x * 0.707_106_781_186_547_5))
        case .geluTanh:
            return 0.5 * x * (1 + tanh(0.797_884_560_802_865_4 * (x + 0.044_715 * x * x * x)))
        case .silu:
            return x / (1 + exp(-x))
        case .relu:
            return x.replacing(with: 0, where: x .< 0)
        case .identity:
            return x
        }
    }

    /// `x = act(x)` in place.
    public static func activate(_ x: UnsafeMutablePointer<Float>, count: Int, _ activation: Activation) {
        switch activation {
        case .gelu: apply(x, count: count) { apply(.gelu, $0) }
        case .geluTanh: apply(x, count: count) { apply(.geluTanh, $0) }
        case .silu: apply(x, count: count) { apply(.silu, $0) }
        case .relu: apply(x, count: count) { apply(.relu, $0) }
        case .identity: break
        }
    }

    /// `map` with the body inlined: one specialised loop per activation.
    @inline(__always) private static func apply(_ x: UnsafeMutablePointer<Float>, count: Int, _ body: (Vec) -> Vec) {
        Parallel.ranges(count / lanes, minimum: 2048) { r in
            let start = r.lowerBound * lanes
            let end = r.upperBound == count / lanes ? count : r.upperBound * lanes
            map(x + start, count: end - start, body)
        }
        if count < lanes { map(x, count: count, body) }
    }

    /// Gated MLP product: `gate = act(gate) * up` (SwiGLU with `.silu`, GeGLU with `.gelu` / `.geluTanh`).
    public static func gated(
        _ gate: UnsafeMutablePointer<Float>, up: UnsafePointer<Float>, count: Int, _ activation: Activation
    ) {
        @inline(__always) func run(_ act: Activation) {
            Parallel.ranges(count / lanes, minimum: 2048) { r in
                let start = r.lowerBound * lanes
                let end = r.upperBound == count / lanes ? count : r.upperBound * lanes
                serial(act, gate + start, up + start, end - start)
            }
            if count < lanes { serial(act, gate, up, count) }
        }
        @inline(__always) func serial(_ act: Activation, _ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, _ count: Int) {
            var i = 0
            while i + lanes <= count {
                store(apply(act, load(gate + i)) * load(up + i), gate + i)
                i += lanes
            }
            if i < count {
                var g = Vec(), u = Vec()
                for j in 0..<(count - i) { g[j] = gate[i + j]; u[j] = up[i + j] }
                let y = apply(act, g) * u
                for j in 0..<(count - i) { gate[i + j] = y[j] }
            }
        }
        switch activation {
        case .gelu: run(.gelu)
        case .geluTanh: run(.geluTanh)
        case .silu: run(.silu)
        case .relu: run(.relu)
        case .identity: run(.identity)
        }
    }
}
