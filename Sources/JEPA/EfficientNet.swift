import Neural

/// The X-encoder, family `efficientnet`: EfficientNet-Lite (Tan & Le 2019; the Lite variant has no squeeze-and-excite,
/// uses ReLU6 and keeps the stem and head widths fixed) run on each frame, batch norm folded into the convolutions.
///
/// A 3×3 stride-2 stem; MBConv blocks of a 1×1 expansion (absent when the ratio is 1), a k×k depthwise convolution
/// and a 1×1 projection, plus the block's input when the stride is 1 and the width is kept; a 1×1 head; global average
/// pooling and a linear classifier. ReLU6 follows every convolution but the projections. Between layers activations
/// are NHWC, so the 1×1 convolutions are GEMMs over pixels. Weights: see `EfficientNetConfig`; the PyTorch reference
/// is `Tools/goldens/efficientnet.py`.
public final class EfficientNet: Sendable {
    public let config: EfficientNetConfig
    let stem: Conv2D
    let blocks: [Block]
    let head: PointwiseConv
    let classifier: Linear
    let plan: Plan

    struct Block: Sendable {
        let expand: PointwiseConv?
        let depthwise: DepthwiseConv
        let project: PointwiseConv
        let residual: Bool
    }

    /// Floats per image of each scratch buffer, the largest any layer needs.
    struct Plan: Sendable {
        /// Block inputs and outputs (the stem's output first).
        var activation = 0
        /// Expansion outputs, and the head's output.
        var hidden = 0
        /// Depthwise outputs.
        var depthwise = 0
        var pooled = 0
        var logits = 0
    }

    /// Binds `prefix` + `stem`, `blocks.{i}.{expand,depthwise,project}`, `head` and `classifier` (each `.weight` and
    /// `.bias`); the caller calls `binder.finish`.
    public init(config: EfficientNetConfig, binder: ParameterBinder, prefix: String = "x_encoder.") throws {
        // Bounds before any size is multiplied out (the largest EfficientNet uses 600 px and 640 channels).
        let limit = 1 << 16
        guard (1...8192).contains(config.imageSize), (1...limit).contains(config.inChans),
              (1...limit).contains(config.stemChannels), (1...limit).contains(config.headChannels),
              (1...limit).contains(config.numClasses), !config.stages.isEmpty
        else { throw ConfigError("vision: image_size must be in 1...8192, channel and class counts in 1...\(limit), and stages not empty") }
        for (i, stage) in config.stages.enumerated() {
            guard (1...limit).contains(stage.repeats), (1...15).contains(stage.kernel), stage.kernel % 2 == 1,
                  (1...4).contains(stage.stride), (1...64).contains(stage.expandRatio), (1...limit).contains(stage.outChannels)
            else { throw ConfigError("vision.stages[\(i)]: repeats, an odd kernel ≤ 15, stride ≤ 4, expand_ratio ≤ 64 or out_channels out of range") }
        }
        let padding = config.padding
        self.config = config
        let p = prefix
        stem = Conv2D(weight: try binder.take("\(p)stem.weight", shape: [config.stemChannels, config.inChans, 3, 3]),
                      bias: try binder.take("\(p)stem.bias", shape: [config.stemChannels]),
                      stride: 2, padding: padding, activation: .relu6)
        var plan = Plan()
        var size = stem.window(height: config.imageSize, width: config.imageSize).outHeight
        plan.activation = size * size * config.stemChannels
        var blocks: [Block] = []
        for (i, spec) in config.blocks.enumerated() {
            let q = "\(p)blocks.\(i)."
            func pointwise(_ name: String, in cin: Int, out cout: Int, _ activation: ConvActivation) throws -> PointwiseConv {
                PointwiseConv(weight: try binder.take("\(q)\(name).weight", shape: [cout, cin, 1, 1]),
                              bias: try binder.take("\(q)\(name).bias", shape: [cout]), activation: activation)
            }
            let expand = spec.expands ? try pointwise("expand", in: spec.inChannels, out: spec.hiddenChannels, .relu6) : nil
            let depthwise = DepthwiseConv(
                weight: try binder.take("\(q)depthwise.weight", shape: [spec.hiddenChannels, 1, spec.kernel, spec.kernel]),
                bias: try binder.take("\(q)depthwise.bias", shape: [spec.hiddenChannels]),
                stride: spec.stride, padding: padding, activation: .relu6)
            let project = try pointwise("project", in: spec.hiddenChannels, out: spec.outChannels, .identity)
            blocks.append(Block(expand: expand, depthwise: depthwise, project: project, residual: spec.residual))
            if spec.expands { plan.hidden = max(plan.hidden, size * size * spec.hiddenChannels) }
            size = depthwise.window(height: size, width: size).outHeight
            plan.depthwise = max(plan.depthwise, size * size * spec.hiddenChannels)
            plan.activation = max(plan.activation, size * size * spec.outChannels)
        }
        self.blocks = blocks
        head = PointwiseConv(weight: try binder.take("\(p)head.weight", shape: [config.headChannels, config.lastChannels, 1, 1]),
                             bias: try binder.take("\(p)head.bias", shape: [config.headChannels]), activation: .relu6)
        plan.hidden = max(plan.hidden, size * size * config.headChannels)
        plan.pooled = config.headChannels
        plan.logits = config.numClasses
        classifier = try binder.linear("\(p)classifier", in: config.headChannels, out: config.numClasses, bias: true)
        self.plan = plan
    }

    public var parameterCount: Int {
        stem.parameterCount + head.parameterCount + classifier.parameterCount + blocks.reduce(0) { n, b in
            n + (b.expand?.parameterCount ?? 0) + b.depthwise.parameterCount + b.project.parameterCount
        }
    }

    /// Class logits [images × num_classes] for `images` [images × in_chans × size × size] (NCHW, normalised pixels),
    /// e.g. the frames of several clips stacked.
    ///
    /// `isCancelled` is polled before each block; once it returns true the call throws `CancellationError`.
    public func logits(_ images: Tensor, workspace: Workspace, isCancelled: () -> Bool = { false }) throws -> Tensor {
        try forward(images, workspace: workspace, isCancelled: isCancelled, trace: nil)
    }

    /// `logits`, handing the first image's activations to `trace` as they are made: `stem`, `block{i}`, `head`
    /// (each [height, width, channels]) and `pooled` [channels].
    func forward(_ images: Tensor, workspace: Workspace, isCancelled: () -> Bool,
                 trace: ((String, Tensor) -> Void)?) throws -> Tensor {
        let c = config.inChans, s = config.imageSize
        guard images.rank == 4, images.shape[1] == c, images.shape[2] == s, images.shape[3] == s else {
            throw ModelInputError.shape(found: images.shape, expected: "[images, \(c), \(s), \(s)]")
        }
        let n = images.shape[0]
        guard n > 0 else { return Tensor(zeros: [0, config.numClasses]) }
        let scratch = Scratch(plan, images: n, workspace: workspace)
        func record(_ name: String, _ x: UnsafePointer<Float>, _ shape: [Int]) {
            trace?(name, Tensor(shape: shape, scalars: Array(UnsafeBufferPointer(start: x, count: shape.reduce(1, *)))))
        }

        images.scalars.withUnsafeBufferPointer { pixels in
            stem(pixels.baseAddress!, images: n, height: s, width: s, into: scratch.x)
        }
        var size = stem.window(height: s, width: s).outHeight
        record("stem", scratch.x, [size, size, config.stemChannels])
        for (i, block) in blocks.enumerated() {
            if isCancelled() { throw CancellationError() }
            let pixels = n * size * size
            var input = UnsafePointer(scratch.x)
            if let expand = block.expand {
                expand(scratch.x, pixels: pixels, into: scratch.hidden)
                input = UnsafePointer(scratch.hidden)
            }
            block.depthwise(input, images: n, height: size, width: size, into: scratch.depthwise)
            size = block.depthwise.window(height: size, width: size).outHeight
            // The block's input is dead once the depthwise convolution has read it, unless it is the residual.
            block.project(scratch.depthwise, pixels: n * size * size, into: scratch.x, accumulate: block.residual)
            record("block\(i)", scratch.x, [size, size, block.project.outChannels])
        }
        if isCancelled() { throw CancellationError() }
        head(scratch.x, pixels: n * size * size, into: scratch.hidden)
        record("head", scratch.hidden, [size, size, config.headChannels])
        Kernels.meanPool(scratch.hidden, images: n, pixels: size * size, channels: config.headChannels, into: scratch.pooled)
        record("pooled", scratch.pooled, [config.headChannels])
        classifier(scratch.pooled, rows: n, into: scratch.logits)
        let count = n * config.numClasses
        return Tensor(shape: [n, config.numClasses], scalars: Array(UnsafeBufferPointer(start: scratch.logits, count: count)))
    }

    /// The buffers of one forward pass over `images` images, carved from workspace buffer 0.
    struct Scratch {
        let x: UnsafeMutablePointer<Float>
        let hidden: UnsafeMutablePointer<Float>
        let depthwise: UnsafeMutablePointer<Float>
        let pooled: UnsafeMutablePointer<Float>
        let logits: UnsafeMutablePointer<Float>

        init(_ plan: Plan, images: Int, workspace: Workspace) {
            let sizes = [plan.activation, plan.hidden, plan.depthwise, plan.pooled, plan.logits].map { images * $0 }
            x = workspace.buffer(.residual, count: sizes.reduce(0, +))
            hidden = x + sizes[0]
            depthwise = hidden + sizes[1]
            pooled = depthwise + sizes[2]
            logits = pooled + sizes[3]
        }
    }
}
