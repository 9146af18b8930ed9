import ExplainCore
import ExplainTestSupport
import Testing

/// Every pullback against central finite differences of the forward pass:
/// `⟨pullback(g), v⟩ ≈ (⟨g, f(x + h·v)⟩ − ⟨g, f(x − h·v)⟩) / 2h` for random g and v, per input.
@Suite struct PullbackTests {
    struct Case: CustomStringConvertible, @unchecked Sendable {
        var name: String
        var layer: any Layer
        var shapes: [[Int]]
        var range: ClosedRange<Float> = -1...1
        var description: String { name }
    }

    static var cases: [Case] {
        var rng = TestRandom(seed: 42)
        func conv(_ c: Int, _ m: Int, _ k: Int, s: Int = 1, p: Int = 0, d: Int = 1, g: Int = 1) -> any Layer {
            try! Conv2D(weight: rng.tensor([m, c / g, k, k]), bias: rng.tensor([m]), strides: (s, s), pads: (p, p, p, p), dilations: (d, d), groups: g)
        }
        return [
            Case(name: "conv 3x3 pad 1", layer: conv(3, 4, 3, p: 1), shapes: [[2, 3, 6, 6]]),
            Case(name: "conv 3x3 stride 2", layer: conv(4, 4, 3, s: 2, p: 1), shapes: [[2, 4, 7, 7]]),
            Case(name: "conv 1x1", layer: conv(4, 3, 1), shapes: [[2, 4, 5, 5]]),
            Case(name: "conv depthwise", layer: conv(4, 4, 3, p: 1, g: 4), shapes: [[2, 4, 5, 5]]),
            Case(name: "conv depthwise stride 2 dilated", layer: conv(3, 3, 3, s: 2, p: 2, d: 2, g: 3), shapes: [[2, 3, 7, 6]]),
            Case(name: "conv depthwise 7x7", layer: conv(2, 2, 7, p: 3, g: 2), shapes: [[1, 2, 9, 8]]),
            Case(name: "conv depthwise 5x5 wide rows", layer: conv(3, 3, 5, p: 2, g: 3), shapes: [[1, 3, 4, 19]]),
            Case(name: "conv depthwise dilated narrow", layer: conv(2, 2, 3, p: 2, d: 2, g: 2), shapes: [[2, 2, 5, 3]]),
            Case(name: "conv depthwise 5x5 stride 2 wide", layer: conv(2, 2, 5, s: 2, p: 2, g: 2), shapes: [[1, 2, 7, 37]]),
            Case(name: "conv depthwise 3x3 stride 3", layer: conv(2, 2, 3, s: 3, p: 1, g: 2), shapes: [[1, 2, 10, 20]]),
            Case(name: "conv dilated grouped", layer: conv(4, 6, 3, p: 2, d: 2, g: 2), shapes: [[1, 4, 6, 6]]),
            Case(name: "dense", layer: try! Dense(weight: rng.tensor([5, 7]), bias: rng.tensor([5])), shapes: [[3, 7]]),
            Case(name: "dense transA", layer: try! Dense(weight: rng.tensor([5, 7]), bias: rng.tensor([5]), transposeInput: true), shapes: [[7, 3]]),
            Case(name: "matmul runtime", layer: try! MatMul(), shapes: [[2, 3, 4], [4, 5]]),
            Case(name: "matmul broadcast", layer: try! MatMul(), shapes: [[2, 1, 3, 4], [3, 4, 2]]),
            Case(name: "matmul constant", layer: try! MatMul(constantRight: rng.tensor([4, 3])), shapes: [[2, 5, 4]]),
            Case(name: "matmul vector right", layer: try! MatMul(), shapes: [[2, 3, 4], [4]]),
            Case(name: "matmul vector left", layer: try! MatMul(), shapes: [[4], [4, 3]]),
            Case(name: "max pool 2x2 odd input", layer: try! MaxPool2D(kernel: (2, 2)), shapes: [[2, 2, 5, 7]]),
            Case(name: "max pool", layer: try! MaxPool2D(kernel: (3, 3), strides: (2, 2), pads: (1, 1, 1, 1)), shapes: [[2, 2, 6, 6]]),
            Case(name: "average pool ceil", layer: try! AveragePool2D(kernel: (3, 3), strides: (2, 2), pads: (1, 1, 1, 1), ceilMode: true), shapes: [[2, 2, 6, 6]]),
            Case(name: "average pool include pad", layer: try! AveragePool2D(kernel: (2, 2), strides: (1, 1), pads: (1, 0, 0, 1), countIncludePad: true), shapes: [[1, 2, 4, 5]]),
            Case(name: "global average pool", layer: GlobalAveragePool(), shapes: [[2, 3, 4, 4]]),
            Case(name: "power 3", layer: Power(exponent: 3), shapes: [[2, 5]]),
            Case(name: "power 2.5", layer: Power(exponent: 2.5), shapes: [[2, 5]], range: 0.5...2),
            Case(name: "gelu tanh", layer: Gelu(tanh: true), shapes: [[2, 7]], range: -3...3),
            Case(name: "batch norm", layer: try! BatchNorm(scale: rng.tensor([3]), bias: rng.tensor([3]), mean: rng.tensor([3]), variance: rng.tensor([3], 0.5...2)), shapes: [[2, 3, 2, 2]]),
            Case(name: "relu", layer: Relu(), shapes: [[2, 10]]),
            Case(name: "leaky relu", layer: LeakyRelu(alpha: 0.2), shapes: [[2, 10]]),
            Case(name: "sigmoid", layer: Sigmoid(), shapes: [[2, 10]], range: -3...3),
            Case(name: "tanh", layer: Tanh(), shapes: [[2, 10]]),
            Case(name: "clip", layer: try! Clip(low: -0.5, high: 0.5), shapes: [[2, 10]]),
            Case(name: "hard sigmoid", layer: HardSigmoid(alpha: 1.0 / 6, beta: 0.5), shapes: [[2, 10]], range: -5...5),
            Case(name: "hard swish", layer: HardSwish(), shapes: [[2, 10]], range: -5...5),
            Case(name: "elu", layer: Elu(alpha: 0.7), shapes: [[2, 10]], range: -2...2),
            Case(name: "selu", layer: Selu(), shapes: [[2, 10]], range: -2...2),
            Case(name: "softplus", layer: Softplus(), shapes: [[2, 10]], range: -4...4),
            Case(name: "gelu", layer: Gelu(), shapes: [[2, 10]], range: -4...4),
            Case(name: "conv1d", layer: try! Conv1D(weight: rng.tensor([4, 3, 3]), bias: rng.tensor([4]), stride: 2, pads: (1, 2), dilation: 1),
                 shapes: [[2, 3, 9]]),
            Case(name: "conv1d grouped dilated", layer: try! Conv1D(weight: rng.tensor([4, 1, 2]), stride: 1, pads: (0, 0), dilation: 2, groups: 2),
                 shapes: [[2, 2, 7]]),
            Case(name: "max pool 1d", layer: try! MaxPool1D(kernel: 3, stride: 2, pads: (1, 1)), shapes: [[2, 3, 8]]),
            Case(name: "erf", layer: Erf(), shapes: [[2, 10]], range: -2...2),
            Case(name: "sqrt", layer: Sqrt(), shapes: [[2, 10]], range: 0.5...2),
            Case(name: "gather one index", layer: try! GatherAxis(axis: 1, indices: [0], indicesShape: []), shapes: [[2, 3, 4]]),
            Case(name: "gather repeated indices", layer: try! GatherAxis(axis: -1, indices: [2, -1, 2], indicesShape: [3]), shapes: [[2, 3, 4]]),
            Case(name: "slice strided", layer: try! StridedSlice(axes: [2, 3], starts: [0, 1], ends: [Int.max, 5], steps: [2, 2]), shapes: [[2, 2, 5, 6]]),
            Case(name: "slice reversed negative", layer: try! StridedSlice(axes: [-1], starts: [-1], ends: [-Int.max], steps: [-2]), shapes: [[2, 3, 5]]),
            Case(name: "layer norm last axis", layer: try! LayerNorm(scale: rng.tensor([6]), bias: rng.tensor([6])), shapes: [[2, 3, 6]]),
            Case(name: "layer norm two axes", layer: try! LayerNorm(scale: rng.tensor([3, 4]), axis: 1, epsilon: 1e-3), shapes: [[2, 3, 4]]),
            Case(name: "softmax", layer: Softmax(axis: 1), shapes: [[2, 5, 3]]),
            Case(name: "softmax 2-D coerced", layer: Softmax(axis: 1, coerced2D: true), shapes: [[2, 3, 2]]),
            Case(name: "add broadcast", layer: Binary(.add), shapes: [[2, 3, 4], [3, 1]]),
            Case(name: "sub broadcast", layer: Binary(.sub), shapes: [[3, 1], [2, 3, 4]]),
            Case(name: "mul broadcast", layer: Binary(.mul), shapes: [[2, 3, 4], [4]]),
            Case(name: "div broadcast", layer: Binary(.div), shapes: [[2, 3, 4], [3, 1]], range: 0.5...2),
            Case(name: "mul constant left", layer: Binary(.mul, constant: rng.tensor([3, 1]), side: .left), shapes: [[2, 3, 4]]),
            Case(name: "div constant right", layer: Binary(.div, constant: rng.tensor([4], 0.5...2)), shapes: [[2, 3, 4]]),
            Case(name: "concat", layer: try! Concat(axis: 1, inputCount: 2), shapes: [[2, 3, 2], [2, 1, 2]]),
            Case(name: "flatten", layer: Flatten(axis: 1), shapes: [[2, 3, 2]]),
            Case(name: "reshape", layer: try! Reshape([.copy, .infer]), shapes: [[2, 3, 2]]),
            Case(name: "transpose", layer: Transpose(perm: [0, 2, 1]), shapes: [[2, 3, 4]]),
            Case(name: "squeeze", layer: Squeeze(axes: [1]), shapes: [[2, 1, 4]]),
            Case(name: "unsqueeze", layer: Unsqueeze(axes: [1, -1]), shapes: [[2, 4]]),
            Case(name: "pad", layer: try! Pad(pads: [0, 1, 2, 0, 2, 1], value: 0.5), shapes: [[2, 3, 2]]),
            Case(name: "reduce mean", layer: Reduce(.mean, axes: [1, 2], keepDims: false), shapes: [[2, 3, 4]]),
            Case(name: "reduce sum", layer: Reduce(.sum, axes: nil, keepDims: true), shapes: [[2, 3, 4]]),
        ]
    }

    @Test(arguments: cases)
    func pullbackMatchesFiniteDifferences(_ c: Case) throws {
        var rng = TestRandom(seed: 99)
        let xs = c.shapes.map { rng.tensor($0, c.range) }
        let y = try c.layer.forward(xs)
        let g = rng.tensor(y.shape)
        let grads = try c.layer.pullback(inputs: xs, output: y, cotangent: g)
        #expect(grads.count == xs.count)
        let h: Float = 1e-2
        for i in xs.indices {
            #expect(grads[i].shape == xs[i].shape)
            let v = rng.tensor(xs[i].shape)
            var plus = xs, minus = xs
            plus[i] = try Tensor.broadcasting(xs[i], try Tensor.broadcasting(v, Tensor(scalar: h), MultiplyFunction.self), AddFunction.self)
            minus[i] = try Tensor.broadcasting(xs[i], try Tensor.broadcasting(v, Tensor(scalar: h), MultiplyFunction.self), SubtractFunction.self)
            let numeric = (dot(g, try c.layer.forward(plus)) - dot(g, try c.layer.forward(minus))) / (2 * Double(h))
            let analytic = dot(grads[i], v)
            let scale = max(1, abs(analytic))
            #expect(abs(numeric - analytic) <= 2e-3 * scale, "\(c.name) input \(i): numeric \(numeric), analytic \(analytic)")
        }
    }

    /// A pullback that adds into an existing gradient gives that gradient plus the plain pullback,
    /// for every convolution path (im2col with col2im, pointwise GEMM, grouped, Winograd).
    static var convCases: [Case] {
        var rng = TestRandom(seed: 3)
        let winograd = try! Conv2D(weight: rng.tensor([5, 4, 3, 3]), pads: (1, 1, 1, 1), algorithm: .winograd)
        return cases.filter { $0.layer is Conv2D } + [Case(name: "conv winograd", layer: winograd, shapes: [[2, 4, 7, 6]])]
    }

    @Test(arguments: convCases)
    func accumulatingPullbackAddsToTheGradient(_ c: Case) throws {
        let conv = try #require(c.layer as? Conv2D)
        var rng = TestRandom(seed: 7)
        let x = rng.tensor(c.shapes[0])
        let y = try conv.forward([x])
        let g = rng.tensor(y.shape), existing = rng.tensor(x.shape)
        let before = existing.scalars
        var sum = existing
        try conv.pullback(inputs: [x], output: y, cotangent: g, adding: &sum)
        let plain = try conv.pullback(inputs: [x], output: y, cotangent: g)[0]
        let want = try Tensor.broadcasting(existing, plain, AddFunction.self)
        #expect(Deviation(sum, want).relL2 < 1e-6, "\(c.name)")
        #expect(existing.scalars == before)   // value semantics: only `sum` changed
    }

    /// A transposed product with an epilogue equals the plain product followed by the step, for
    /// every convolution path.
    @Test(arguments: convCases)
    func epilogueEqualsASeparatePass(_ c: Case) throws {
        let conv = try #require(c.layer as? Conv2D)
        var rng = TestRandom(seed: 8)
        let x = rng.tensor(c.shapes[0])
        let g = rng.tensor(try conv.forward([x]).shape)
        let plain = try conv.inputGradient(inputShape: x.shape, cotangent: g).scalars
        let times = try conv.inputGradient(inputShape: x.shape, cotangent: g, then: .multiply(x)).scalars
        let masked = try conv.inputGradient(inputShape: x.shape, cotangent: g, then: .keepWherePositive(x)).scalars
        #expect(times == zip(plain, x.scalars).map { $0 * $1 }, "\(c.name)")
        #expect(masked == zip(plain, x.scalars).map { $1 > 0 ? $0 : 0 }, "\(c.name)")
        #expect(throws: ExplainError.self) { try conv.inputGradient(inputShape: x.shape, cotangent: g, then: .multiply(Tensor(shape: [1]))) }
    }
}
