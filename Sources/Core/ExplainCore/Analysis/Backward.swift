/// The outcome of a backward pass.
public struct BackwardResult: Sendable {
    /// Relevance / gradient at each requested input value.
    public var inputs: [Tensor]
    /// Relevance / gradient captured at requested values.
    public var captured: [ValueID: Tensor]
    /// The first node (in backward order) whose result was not finite, if any.
    public var firstNonFinite: String?
    /// Seconds per visited node, in backward order (only when `timed` was requested).
    public var nodeSeconds: [(node: String, seconds: Double)] = []
}

import Dispatch

extension BoundGraph {
    /// The reverse-mode pass: walks the nodes between `inputs` and the seeded values in reverse
    /// topological order, replaces each node's pullback by its rule where one is bound, and sums
    /// contributions where a value fans out. Forward values are released as soon as the walk is
    /// past them.
    ///
    /// - Parameters:
    ///   - activations: the forward values (`retain: .all`); consumed.
    ///   - seeds: output-shaped tensors injected at values (usually one, at the explained output).
    ///   - inputs: the values whose relevance/gradient is returned (default: the graph inputs).
    ///   - capture: values whose relevance/gradient is also returned.
    ///   - timed: record each visited node's time in `BackwardResult.nodeSeconds` (profiling).
    ///   - checkFinite: test every node's result for NaN/infinity to fill `firstNonFinite` (one extra
    ///     pass over each result; analyzers skip it and repeat the analysis only when the result is not finite).
    ///   - references: the forward values of a reference input (retaining at least `referenceValues`),
    ///     given to rules through `Site.reference`.
    public func backward(_ activations: inout Activations, seeds: [ValueID: Tensor], to inputs: [ValueID]? = nil,
                         capture: Set<ValueID> = [], timed: Bool = false, checkFinite: Bool = true,
                         references: Activations? = nil) throws -> BackwardResult {
        let g = graph
        let targets = inputs ?? g.inputs
        let count = g.valueNames.count
        // Values that depend on a requested input, and values from which a seed is reachable.
        var fromInput = [Bool](repeating: false, count: count)
        for v in targets { fromInput[v] = true }
        for node in g.nodes where node.inputs.contains(where: { fromInput[$0] }) { fromInput[node.output] = true }
        var toSeed = [Bool](repeating: false, count: count)
        for v in seeds.keys { toSeed[v] = true }
        for node in g.nodes.reversed() where toSeed[node.output] { for v in node.inputs { toSeed[v] = true } }

        var grads = [Tensor?](repeating: nil, count: count)
        /// Adds `r` to the gradient of `v` (fan-out sums), or makes it that gradient.
        func accumulate(_ r: Tensor, into v: ValueID) {
            guard var sum = grads[v] else { grads[v] = r; return }
            grads[v] = nil   // `sum` holds the only reference: added to in place, not copied
            sum.add(r)
            grads[v] = sum
        }
        for (v, s) in seeds {
            guard let a = activations.values[v] else { throw ExplainError(.missingValue, "value '\(g.valueNames[v])' was not computed") }
            guard a.shape == s.shape else {
                throw ExplainError.shape("seed \(Shape.format(s.shape)) does not match '\(g.valueNames[v])' \(Shape.format(a.shape))")
            }
            grads[v] = s
        }
        var captured: [ValueID: Tensor] = [:]
        var firstNonFinite: String? = nil
        var nodeSeconds: [(node: String, seconds: Double)] = []
        let keepInputs = Set(targets)
        let standIns = Set(activations.aliases.values)
        // Values whose cotangent still lacks a BatchNorm scale folded into their producer's weights
        // (not in diagnostic mode, and not where the caller captures or requests that value).
        var scalePending = Set<ValueID>()
        let foldScales = !checkFinite

        for index in g.nodes.indices.reversed() {
            let node = g.nodes[index]
            let out = node.output
            // Visit nodes between a requested value and a seed; the producer of a requested inner
            // value is not visited (its cotangent is the result, not something to pass on).
            guard toSeed[out], node.inputs.contains(where: { fromInput[$0] }), var incoming = grads[out] else { continue }
            if capture.contains(out) { captured[out] = incoming }
            // `incoming` now holds the only reference (unless captured or requested).
            if !keepInputs.contains(out) { grads[out] = nil }
            let args = try node.inputs.map { try activations.value($0) }
            let output = try activations.value(out)
            var results: [Tensor] = []
            let t0 = timed ? DispatchTime.now().uptimeNanoseconds : 0
            defer { if timed { nodeSeconds.append((node.description, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)) } }
            let scaled = scalePending.contains(out) ? scaledProducers[index] : nil
            // A plain pullback into a value that already has a gradient (fan-out) adds to it in place.
            let accumulating = node.inputs.count == 1 && fromInput[node.inputs[0]] && grads[node.inputs[0]] != nil
                && !(foldScales && scaleFolds[index] != nil) && (scaled != nil || bindings[index] == nil)
                ? (scaled ?? node.layer) as? any AccumulatingPullback : nil
            // An unruled Relu feeding only this node: its mask is applied by this pullback and the
            // result goes to the Relu's input (not in diagnostic mode, nor where the Relu's output is
            // captured or requested).
            let fusedRelu = foldScales ? reluFusions[index].flatMap { r -> (relu: Node, masking: any ReluMaskingPullback)? in
                let v = node.inputs[0]
                guard !capture.contains(v), !keepInputs.contains(v), accumulating == nil,
                      let masking = (scaled ?? node.layer) as? any ReluMaskingPullback else { return nil }
                return (g.nodes[r], masking)
            } : nil
            do {
                if let (relu, masking) = fusedRelu {
                    let mask = activations.masks.removeValue(forKey: node.inputs[0])
                    let dx = if let record = activations.records.removeValue(forKey: out), let recording = masking as? any RecordingPullback {
                        try recording.pullback(record: record, cotangent: incoming, keepingWherePositive: true)
                    } else if let mask {
                        try masking.pullback(inputs: args, output: output, cotangent: incoming, keepingWhere: mask)
                    } else {
                        try masking.pullback(inputs: args, output: output, cotangent: incoming, keepingWherePositive: args[0])
                    }
                    accumulate(dx, into: relu.inputs[0])   // a Relu's input has its output's shape
                    // The Relu's step is skipped (its output gets no gradient): release its output here.
                    if !standIns.contains(node.inputs[0]) { activations.values[node.inputs[0]] = nil }
                } else if let accumulating, case let v = node.inputs[0], var sum = grads[v] {
                    grads[v] = nil   // `sum` holds the only reference: added to in place
                    try accumulating.pullback(inputs: args, output: output, cotangent: incoming, adding: &sum)
                    if checkFinite, firstNonFinite == nil, !sum.isFinite { firstNonFinite = node.name }
                    grads[v] = sum
                } else if foldScales, scaleFolds[index] != nil, !capture.contains(node.inputs[0]), !keepInputs.contains(node.inputs[0]) {
                    results = [incoming]   // the producer applies this BatchNorm's scale
                    scalePending.insert(node.inputs[0])
                } else if let scaled {
                    results = try scaled.pullback(inputs: args, output: output, cotangent: incoming)
                } else if let b = bindings[index] {
                    let reference = try references.map { r in Site.Reference(inputs: try node.inputs.map { try r.value($0) }, output: try r.value(out)) }
                    results = try b.rule.propagate(incoming, at: Site(node: node, index: index, inputs: args, output: output, state: b.state,
                                                                            inputsNonNegative: node.inputs.map { nonNegative[$0] }, reference: reference,
                                                                            outputMask: activations.masks.removeValue(forKey: out)))
                } else if bindings[index] == nil, let recording = node.layer as? any RecordingPullback,
                          let record = activations.records.removeValue(forKey: out) {
                    results = [try recording.pullback(record: record, cotangent: incoming, keepingWherePositive: false)]
                } else if bindings[index] == nil, node.layer is Relu, let mask = activations.masks.removeValue(forKey: out) {
                    try mask.keep(&incoming)   // a Relu kept as its mask
                    results = [incoming]
                } else if let layer = node.layer as? any InPlacePullback, node.inputs.count == 1 {
                    try layer.pullbackInPlace(inputs: args, output: output, cotangent: &incoming)
                    results = [incoming]
                } else {
                    results = try node.layer.pullback(inputs: args, output: output, cotangent: incoming)
                }
            } catch let e as ExplainError {
                throw e.at(node: node.name, op: node.layer.kind.rawValue)
            }
            guard accumulating != nil || fusedRelu != nil || results.count == node.inputs.count else {
                throw ExplainError(.invalidArgument, "backward returned \(results.count) tensors for \(node.inputs.count) inputs",
                                   node: node.name, op: node.layer.kind.rawValue)
            }
            for (k, v) in node.inputs.enumerated() where fromInput[v] && accumulating == nil && fusedRelu == nil {
                let r = results[k]
                guard r.shape == args[k].shape else {
                    throw ExplainError.shape("backward result \(Shape.format(r.shape)) does not match input \(Shape.format(args[k].shape))")
                        .at(node: node.name, op: node.layer.kind.rawValue)
                }
                if checkFinite, firstNonFinite == nil, !r.isFinite { firstNonFinite = node.name }
                accumulate(r, into: v)
            }
            // The forward output of this node is not needed by any node still to be visited
            // (stand-ins for overwritten values stay to the end: earlier producers read their shape).
            if !keepInputs.contains(out) && !standIns.contains(out) { activations.values[out] = nil }
        }
        for v in capture where captured[v] == nil {
            if let gv = grads[v] { captured[v] = gv }
        }
        let results = try targets.map { v -> Tensor in
            if let gv = grads[v] { return gv }
            return Tensor(shape: try activations.value(v).shape)  // the seed does not depend on this input
        }
        return BackwardResult(inputs: results, captured: captured, firstNonFinite: firstNonFinite, nodeSeconds: nodeSeconds)
    }
}

extension Tensor {
    /// Element-wise sum of two equally shaped tensors.
    public func adding(_ other: Tensor) -> Tensor {
        var r = self
        r.add(other)
        return r
    }

    /// Adds an equally shaped tensor element-wise, in place (copies first only when the storage is shared).
    public mutating func add(_ other: Tensor) {
        precondition(shape == other.shape, "adding tensors of different shapes")
        let n = count
        withUnsafeMutableBufferPointer { p in
            other.withUnsafeBufferPointer { q in
                nonisolated(unsafe) let (p, q) = (p, q)
                Parallel.forEachRange(n) { range in for i in range { p[i] += q[i] } }
            }
        }
    }
}
