import ExplainCore
import ExplainTestSupport
import Testing

@Suite struct GraphTests {
    /// x → conv → relu ─┬→ add → gap → flatten → dense
    ///                  └────┘ (a value with two consumers)
    func smallGraph() throws -> Graph {
        var rng = TestRandom(seed: 1)
        var b = GraphBuilder()
        let x = b.addInput(name: "x", shape: [nil, 2, 5, 5])
        let c = try b.add(try Conv2D(weight: rng.tensor([3, 2, 3, 3]), pads: (1, 1, 1, 1)), inputs: [x], name: "conv")
        let r = try b.add(Relu(), inputs: [c], name: "relu")
        let a = try b.add(Binary(.add), inputs: [r, r], name: "residual")
        let p = try b.add(GlobalAveragePool(), inputs: [a], name: "gap")
        let f = try b.add(Flatten(), inputs: [p], name: "flatten")
        let d = try b.add(try Dense(weight: rng.tensor([4, 3]), bias: rng.tensor([4])), inputs: [f], name: "fc")
        return try b.build(outputs: [d])
    }

    /// Non-negativity by construction: from a Relu on, through pooling and reshaping, not through
    /// an Add (a sum of non-negative values is, but Add is not in the list: conservative) or a Dense.
    @Test func nonNegativeValuesFollowTheGraph() throws {
        let g = try smallGraph()
        let known = g.nonNegativeValues
        let flags = try ["x", "conv", "relu", "residual", "gap", "flatten", "fc"].map { known[try g.value(named: $0)] }
        #expect(flags == [false, false, true, false, false, false, false])
        var b = GraphBuilder()
        let x = b.addInput(name: "x", shape: [nil, 2, 4, 4])
        let r = try b.add(Relu(), inputs: [x], name: "relu")
        let p = try b.add(try MaxPool2D(kernel: (2, 2)), inputs: [r], name: "pool")
        let f = try b.add(Flatten(), inputs: [p], name: "flat")
        let h = try b.build(outputs: [f])
        #expect(try ["x", "relu", "pool", "flat"].map { h.nonNegativeValues[try h.value(named: $0)] } == [false, true, true, true])
    }

    @Test func forwardKeepsOrFreesIntermediates() throws {
        let g = try smallGraph()
        var rng = TestRandom(seed: 2)
        let x = rng.tensor([3, 2, 5, 5])
        let all = try g.forward([x], retain: .all)
        #expect(all.values.allSatisfy { $0 != nil })
        let lean = try g.forward([x])
        #expect(lean.values.compactMap { $0 }.count == 1)   // only the output; the input is released after use
        #expect(try lean.value(g.outputs[0]) == (try all.value(g.outputs[0])))
        let relu = try g.value(named: "relu")
        let partial = try g.forward([x], outputs: [relu])
        #expect(partial.values[g.outputs[0]] == nil)
        #expect(try partial.value(relu) == (try all.value(relu)))
    }

    /// With `.backward` retention an element-wise layer overwrites its input in place only when no
    /// backward step reads that input's contents — including other, earlier consumers of it:
    /// x → conv0 → v; v → conv1 (reads its input); v → relu (last consumer of v); add(conv1, relu) → relu2.
    @Test func inPlaceNeverOverwritesAValueAnotherStepReads() throws {
        var rng = TestRandom(seed: 3)
        var b = GraphBuilder()
        let x = b.addInput(name: "x", shape: [nil, 2, 4, 4])
        let v = try b.add(try Conv2D(weight: rng.tensor([2, 2, 3, 3]), pads: (1, 1, 1, 1)), inputs: [x], name: "conv0")
        let c = try b.add(try Conv2D(weight: rng.tensor([2, 2, 1, 1])), inputs: [v], name: "conv1")
        let r = try b.add(Relu(), inputs: [v], name: "relu")
        let s = try b.add(Binary(.add), inputs: [c, r], name: "add")
        let out = try b.add(Relu(), inputs: [s], name: "relu2")
        let g = try b.build(outputs: [out])
        // What rules like z⁺ (conv: inputs), pass (relu: nothing) and the norm rule (add: inputs) read.
        let reads: [(inputs: Bool, output: Bool)] = g.nodes.map { node in
            switch node.layer.kind { case .relu: (false, false); default: (true, false) }
        }
        let input = rng.tensor([1, 2, 4, 4])
        let all = try g.forward([input], retain: .all)
        let acts = try g.forward([input], retain: .backward(reads: reads))
        #expect(try acts.value(v) == (try all.value(v)))   // conv1's step reads v: relu ran out of place
        #expect(acts.aliases[v] == nil)
        #expect(acts.aliases[s] == out)                     // nobody reads the sum: relu2 ran in place
        #expect(try acts.value(out) == (try all.value(out)))
        // Where no backward step reads anything, every intermediate value is released after its last
        // use and leaves its shape (the requested output stays).
        let lean = try g.forward([input], retain: .backward(reads: g.nodes.map { _ in (false, false) }))
        for value in [v, c, r] {
            #expect(try lean.value(value).isPlaceholder && (try lean.value(value).shape == all.value(value).shape))
        }
        #expect(try lean.value(out) == (try all.value(out)))
    }

    @Test func shapesAndErrorsNameTheNode() throws {
        let g = try smallGraph()
        let shapes = try g.inferShapes([[3, 2, 5, 5]])
        #expect(shapes[g.outputs[0]] == [3, 4])
        #expect(g.parameterCount == 3 * 2 * 9 + 4 * 3 + 4)
        #expect(throws: ExplainError.self) { try g.predict(Tensor(shape: [1, 3, 5, 5])) }
        do {
            _ = try g.predict(Tensor(shape: [1, 2, 5]))
            Issue.record("expected an error")
        } catch let e as ExplainError {
            #expect(e.code == .shapeMismatch)
            #expect(e.description.contains("(1, 2, 5)"))
        }
        #expect(throws: ExplainError.self) { try g.value(named: "nope") }
    }

    @Test func builderRejectsBadWiring() throws {
        var b = GraphBuilder()
        let x = b.addInput(name: "x")
        #expect(throws: ExplainError.self) { try b.add(Binary(.add), inputs: [x]) }
        #expect(throws: ExplainError.self) { try b.add(Relu(), inputs: [7]) }
        let r1 = try b.add(Relu(), inputs: [x], name: "r")
        let r2 = try b.add(Relu(), inputs: [r1], name: "r")
        let g = try b.build(outputs: [r2])
        #expect(Set(g.nodes.map(\.name)).count == 2)
    }
}
