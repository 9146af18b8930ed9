import ExplainKit
import ExplainTestSupport
import Testing

@Suite struct BindingTests {
    @Test func bindingChecksRulesAndNamesTheNode() throws {
        let imported = try ONNXImporter.load(path: TestPaths.reference + "/cancer-mlp/model.onnx")
        let wrong = Preset("wrong") { when(.kind(.dense), use: GuidedBackpropRule()) }
        do {
            _ = try BoundGraph(imported.graph, preset: wrong)
            Issue.record("expected an error")
        } catch let e as ExplainError {
            #expect(e.node != nil)
            #expect(e.message.contains("guided_backprop"))
        }
        let bound = try BoundGraph(imported.graph, preset: SignalPlugin.guidedBackprop)
        #expect(bound.summary.count == 2)   // two Relu nodes
        #expect(bound.unruled.count == 3)   // three Gemm nodes keep their pullback
        #expect(throws: ExplainError.self) { try BoundGraph(imported.graph, preset: SignalPlugin.guidedBackprop, strict: true) }
    }

    /// A forward pass kept for `bound`, then its backward pass from `seed` at `output`.
    /// `masks`: keep Relu outputs as masks where the bound graph allows (`bound.retention`).
    static func backward(_ graph: Graph, _ bound: BoundGraph, input: Tensor, seed: Tensor, at output: ValueID,
                         capture: Set<ValueID>, checkFinite: Bool, masks: Bool = true) throws -> BackwardResult {
        var acts = try graph.forward([input], retain: masks ? bound.retention : .backward(reads: bound.reads))
        return try bound.backward(&acts, seeds: [output: seed], capture: capture, checkFinite: checkFinite)
    }

    /// The backward pass folds an unruled BatchNorm's scale into the Conv that feeds it: same
    /// gradient as the step-by-step pass (diagnostic mode), and a captured value between the two
    /// still gets its true gradient.
    @Test func batchNormScaleFoldedIntoConvPullback() throws {
        var rng = TestRandom(seed: 12)
        var b = GraphBuilder()
        let x = b.addInput(name: "x", shape: [nil, 3, 6, 6])
        let conv = try b.add(try Conv2D(weight: rng.tensor([4, 3, 3, 3]), bias: rng.tensor([4]), pads: (1, 1, 1, 1)), inputs: [x], name: "conv")
        var v = try b.add(try BatchNorm(scale: rng.tensor([4]), bias: rng.tensor([4]), mean: rng.tensor([4]),
                                        variance: rng.tensor([4], 0.5...2), epsilon: 1e-5), inputs: [conv], name: "bn")
        v = try b.add(Relu(), inputs: [v], name: "relu")
        v = try b.add(Flatten(), inputs: [v], name: "flat")
        v = try b.add(try Dense(weight: rng.tensor([5, 144])), inputs: [v], name: "fc")
        let graph = try b.build(outputs: [v])
        let bound = try BoundGraph(graph)
        let input = rng.tensor([2, 3, 6, 6]), seed = rng.tensor([2, 5])
        func run(checkFinite: Bool, capture: Set<ValueID> = []) throws -> BackwardResult {
            try Self.backward(graph, bound, input: input, seed: seed, at: v, capture: capture, checkFinite: checkFinite)
        }
        let folded = try run(checkFinite: false).inputs[0], stepwise = try run(checkFinite: true).inputs[0]
        #expect(Deviation(folded, stepwise).relL2 < 1e-5)
        let capturedFolded = try run(checkFinite: false, capture: [conv]), capturedStepwise = try run(checkFinite: true, capture: [conv])
        let a = try #require(capturedFolded.captured[conv]), c = try #require(capturedStepwise.captured[conv])
        #expect(Deviation(a, c).relL2 < 1e-6)
        #expect(Deviation(capturedFolded.inputs[0], stepwise).relL2 < 1e-5)
        // Requesting the gradient at the conv output itself also gets the scaled (true) value.
        var acts = try graph.forward([input], retain: .backward(reads: bound.reads))
        let both = try bound.backward(&acts, seeds: [v: seed], to: [x, conv], checkFinite: false).inputs
        #expect(Deviation(both[1], c).relL2 < 1e-6)
        #expect(Deviation(both[0], stepwise).relL2 < 1e-5)
    }

    /// A Conv or MaxPool fed by a Relu applies the Relu's mask in its own pullback (im2col, pointwise
    /// and Winograd paths; the pool on its output): the same gradient as the step-by-step pass (no
    /// fusion in diagnostic mode), also when the Relu's output is captured; a shared Relu is not fused.
    @Test(arguments: [ConvAlgorithm.im2col, .winograd])
    func reluMaskFusedIntoPullback(_ algorithm: ConvAlgorithm) throws {
        var rng = TestRandom(seed: 31)
        var b = GraphBuilder()
        let x = b.addInput(name: "x", shape: [nil, 3, 7, 6])
        var v = try b.add(try Conv2D(weight: rng.tensor([6, 3, 3, 3]), bias: rng.tensor([6]), pads: (1, 1, 1, 1)), inputs: [x], name: "conv1")
        let relu1 = try b.add(Relu(), inputs: [v], name: "relu1")
        v = try b.add(try Conv2D(weight: rng.tensor([6, 6, 3, 3]), bias: rng.tensor([6], -0.1...0.1), pads: (1, 1, 1, 1)), inputs: [relu1], name: "conv2")
        v = try b.add(Relu(), inputs: [v], name: "relu2")
        let skip = try b.add(try Conv2D(weight: rng.tensor([6, 6, 1, 1])), inputs: [v], name: "pointwise")
        v = try b.add(Binary(.add), inputs: [v, skip], name: "add")   // relu2 feeds two nodes: not fused
        v = try b.add(Relu(), inputs: [v], name: "relu3")
        v = try b.add(try Conv2D(weight: rng.tensor([4, 6, 1, 1])), inputs: [v], name: "conv3")
        v = try b.add(Relu(), inputs: [v], name: "relu4")
        v = try b.add(try MaxPool2D(kernel: (2, 2)), inputs: [v], name: "pool")   // masks its 3×3 output
        v = try b.add(Flatten(), inputs: [v], name: "flat")
        v = try b.add(try Dense(weight: rng.tensor([5, 36])), inputs: [v], name: "fc")
        let graph = try b.build(outputs: [v]).withConvAlgorithm(algorithm)
        let bound = try BoundGraph(graph)
        #expect(bound.fusedRelus == ["relu1", "relu3", "relu4"])
        let input = rng.tensor([2, 3, 7, 6]), seed = rng.tensor([2, 5])
        func run(checkFinite: Bool, capture: Set<ValueID> = []) throws -> BackwardResult {
            try Self.backward(graph, bound, input: input, seed: seed, at: v, capture: capture, checkFinite: checkFinite)
        }
        let fused = try run(checkFinite: false).inputs[0], stepwise = try run(checkFinite: true).inputs[0]
        #expect(Deviation(fused, stepwise).relL2 < 1e-6)
        #expect(fused.scalars.contains { $0 != 0 })
        let captured = try run(checkFinite: false, capture: [relu1])
        let stepCaptured = try run(checkFinite: true, capture: [relu1])
        let a = try #require(captured.captured[relu1]), c = try #require(stepCaptured.captured[relu1])
        #expect(Deviation(a, c).relL2 < 1e-6)
        #expect(Deviation(captured.inputs[0], stepwise).relL2 < 1e-6)

        // Relu outputs that only shape readers, fused masks and the pool's record consume are kept as
        // bit masks: the same numbers, fused or step by step.
        let masked = try ["relu1", "relu2", "relu3", "relu4"].map { try graph.value(named: $0) }
        #expect(bound.maskableValues == Set(masked))
        let pool = try #require(graph.nodeIndex(named: "pool"))
        #expect(bound.recordingNodes == [pool])
        let acts = try graph.forward([input], retain: bound.retention)
        #expect(masked.allSatisfy { acts.masks[$0] != nil && acts.values[$0]?.isPlaceholder == true })
        #expect(acts.records[graph.nodes[pool].output] != nil)
        let full = try graph.forward([input], retain: .all)
        for v in masked {
            let mask = try #require(acts.masks[v]), y = try full.value(v)
            #expect(mask.tensor == Tensor(shape: y.shape) { out in for i in 0..<y.count { out[i] = y.scalars[i] > 0 ? 1 : 0 } })
        }
        #expect(try acts.value(v) == (try full.value(v)))
        for checkFinite in [false, true] {
            let plain = try Self.backward(graph, bound, input: input, seed: seed, at: v, capture: [], checkFinite: checkFinite, masks: false)
            let bits = try Self.backward(graph, bound, input: input, seed: seed, at: v, capture: [], checkFinite: checkFinite)
            #expect(bits.inputs[0] == plain.inputs[0])
        }
    }

    /// Pools fed by a shared Relu (not fused): the 2×2 pool records its winners, the 3×3 one reads
    /// its input, whose Relu therefore stays a value; odd sizes leave rows and columns outside every
    /// window. Same gradient and guided backprop with and without masks and records, also with ties
    /// (a constant input).
    @Test func poolRecordsReplaceTheirInputs() throws {
        var rng = TestRandom(seed: 32)
        var b = GraphBuilder()
        let x = b.addInput(name: "x", shape: [nil, 2, 7, 9])
        let conv = try b.add(try Conv2D(weight: rng.tensor([4, 2, 3, 3]), bias: rng.tensor([4]), pads: (1, 1, 1, 1)), inputs: [x], name: "conv")
        let relu = try b.add(Relu(), inputs: [conv], name: "relu")
        let small = try b.add(try MaxPool2D(kernel: (2, 2)), inputs: [relu], name: "pool2")
        let relu2 = try b.add(Relu(), inputs: [conv], name: "relu2")
        let large = try b.add(try MaxPool2D(kernel: (3, 3), strides: (2, 2), pads: (1, 1, 1, 1)), inputs: [relu2], name: "pool3")
        let gap1 = try b.add(GlobalAveragePool(), inputs: [small], name: "gap1")
        let gap2 = try b.add(GlobalAveragePool(), inputs: [large], name: "gap2")
        let gap3 = try b.add(GlobalAveragePool(), inputs: [relu], name: "gap3")
        let sum = try b.add(Binary(.add), inputs: [try b.add(Binary(.add), inputs: [gap1, gap2], name: "s1"), gap3], name: "s2")
        let graph = try b.build(outputs: [sum])
        // Plain gradient, and guided backprop (its rule reads the Relu's output as a mask).
        for bound in [try BoundGraph(graph), try BoundGraph(graph, preset: SignalPlugin.guidedBackprop)] {
            // Both pools record their winners (codes for 2×2, plane indices for the overlapping 3×3
            // windows with padding), so both Relus are kept as masks.
            #expect(bound.maskableValues == [relu, relu2])
            #expect(bound.recordingNodes == [try #require(graph.nodeIndex(named: "pool2")), try #require(graph.nodeIndex(named: "pool3"))])
            for input in [rng.tensor([2, 2, 7, 9]), Tensor(shape: [2, 2, 7, 9], repeating: 0.5)] {
                let seed = rng.tensor([2, 4, 1, 1])
                for checkFinite in [false, true] {
                    let plain = try Self.backward(graph, bound, input: input, seed: seed, at: sum, capture: [], checkFinite: checkFinite, masks: false)
                    let kept = try Self.backward(graph, bound, input: input, seed: seed, at: sum, capture: [], checkFinite: checkFinite)
                    #expect(kept.inputs[0] == plain.inputs[0])
                    #expect(kept.inputs[0].scalars.contains { $0 != 0 })
                }
            }
        }
    }

    @Test func matchersAndPresetsPrintAndCompose() throws {
        let imported = try ONNXImporter.load(path: TestPaths.reference + "/digits-cnn/model.onnx")
        let g = imported.graph
        let firstAffine = g.nodes.indices.filter { Matcher.first(.affine).matches($0, in: g) }
        let lastAffine = g.nodes.indices.filter { Matcher.last(.affine).matches($0, in: g) }
        #expect(firstAffine == [0])
        #expect(lastAffine == [g.nodes.count - 1])
        #expect(g.nodes.indices.filter { Matcher.pattern("/conv*").matches($0, in: g) }.count == 3)
        #expect(g.nodes.indices.filter { (Matcher.kind(.relu) && !.indices(0...2)).matches($0, in: g) }.count == 3)
        let base = Preset("base") { when(.kind(.relu), use: DeconvnetRule()) }
        let user = base.overriding(with: [Preset.Entry(.name("/relu1/Relu"), GuidedBackpropRule())], name: "user")
        #expect(user.rule(for: 1, in: g)?.description == "guided_backprop")
        #expect(user.rule(for: 3, in: g)?.description == "deconvnet")
        #expect(user.rule(for: 0, in: g) == nil)
        #expect(user.description.contains("otherwise: preset base"))
        // The all-nodes forms agree with the per-node ones.
        let matchers: [Matcher] = [.first(.affine), .last(.kind(.relu)), .first(.pattern("/relu*") && !.indices(0...2)),
                                   .last(.affine) || .kind(.maxPool), !.first(.kind(.conv2d)), .first(.name("none"))]
        for m in matchers {
            #expect(m.mask(in: g) == g.nodes.indices.map { m.matches($0, in: g) }, "\(m)")
        }
        let mixed = base.overriding(with: [Preset.Entry(.last(.kind(.relu)), GuidedBackpropRule()),
                                           Preset.Entry(.first(.affine), GuidedBackpropRule())])
        #expect(mixed.rules(in: g).map { $0?.description } == g.nodes.indices.map { mixed.rule(for: $0, in: g)?.description })
    }
}
