import ExplainCore

/// The ONNX operators ExplainKit imports, each converted to a Core layer (or folded at import).
enum Operators {
    typealias Converter = @Sendable (NodeContext) throws -> Conversion

    static let table: [String: Converter] = [
        "Conv": conv, "Gemm": gemm, "MatMul": matmul,
        "MaxPool": maxPool, "AveragePool": averagePool, "GlobalAveragePool": { c in .layer(GlobalAveragePool(), [c.operand(0)]) },
        "BatchNormalization": batchNorm, "LayerNormalization": layerNorm,
        "Relu": { c in .layer(Relu(), [c.operand(0)]) }, "Sigmoid": { c in .layer(Sigmoid(), [c.operand(0)]) },
        "Tanh": { c in .layer(Tanh(), [c.operand(0)]) },
        "LeakyRelu": { c in .layer(LeakyRelu(alpha: try c.attributes.float("alpha", default: 0.01)), [c.operand(0)]) },
        "HardSigmoid": { c in
            .layer(HardSigmoid(alpha: try c.attributes.float("alpha", default: 0.2), beta: try c.attributes.float("beta", default: 0.5)), [c.operand(0)])
        },
        "HardSwish": { c in .layer(HardSwish(), [c.operand(0)]) },
        "Elu": { c in .layer(Elu(alpha: try c.attributes.float("alpha", default: 1)), [c.operand(0)]) },
        "Selu": { c in
            .layer(Selu(alpha: try c.attributes.float("alpha", default: 1.67326319217681884765625),
                        gamma: try c.attributes.float("gamma", default: 1.05070102214813232421875)), [c.operand(0)])
        },
        "Softplus": { c in .layer(Softplus(), [c.operand(0)]) },
        "Erf": { c in .layer(Erf(), [c.operand(0)]) },
        "Gelu": { c in   // opset 20
            let form = try c.attributes.string("approximate") ?? "none"
            guard form == "none" || form == "tanh" else { throw c.attributes.unsupported("approximate", form, "use none or tanh") }
            return .layer(Gelu(tanh: form == "tanh"), [c.operand(0)])
        },
        "Clip": clip, "Softmax": softmax,
        "Add": { try binary($0, .add) }, "Sub": { try binary($0, .sub) },
        "Mul": { try binary($0, .mul) }, "Div": { try binary($0, .div) },
        "Concat": concat, "Flatten": { c in .layer(Flatten(axis: try c.attributes.int("axis", default: 1)), [c.operand(0)]) },
        "Reshape": reshape, "Transpose": ShapeFolding.transpose,
        "Squeeze": squeeze, "Unsqueeze": unsqueeze,
        "Identity": passThrough, "Dropout": dropout, "Pad": pad,
        "ReduceMean": { try reduce($0, .mean) }, "ReduceSum": { try reduce($0, .sum) },
        "Constant": constant, "Shape": ShapeFolding.shape, "Gather": gather, "Cast": ShapeFolding.cast,
        "Equal": ShapeFolding.equal, "Where": ShapeFolding.whereSelect, "Mod": ShapeFolding.mod, "Expand": expand,
        "Pow": ShapeFolding.pow, "Range": ShapeFolding.range, "Not": ShapeFolding.not, "ScatterND": ShapeFolding.scatterND,
        "Sqrt": { c in
            if case .constant(let k) = c.operand(0) { return .constant(.float(try Sqrt().forward([try k.floatTensor("Sqrt input")]))) }
            return .layer(Sqrt(), [c.operand(0)])
        },
        "Slice": ShapeFolding.slice, "ConstantOfShape": ShapeFolding.constantOfShape,
        "Abs": ShapeFolding.abs, "Ceil": ShapeFolding.ceil, "Size": ShapeFolding.size, "Greater": ShapeFolding.greater,
        "CastLike": ShapeFolding.castLike,
    ]

    static var supported: [String] { table.keys.sorted() }

    // MARK: - Affine layers

    static func conv(_ c: NodeContext) throws -> Conversion {
        try c.requireInputs(2...3)
        let w = try c.floatConstant(1, "weight")
        if w.rank == 3 {
            let (stride, pads, dilation) = try window1D(c, kernel: w.shape[2])
            return .layer(try Conv1D(weight: w, bias: try c.optionalFloat(2, "bias"), stride: stride, pads: pads, dilation: dilation,
                                     groups: try c.attributes.int("group", default: 1)), [c.operand(0)])
        }
        guard w.rank == 4 else {
            throw c.error(.unsupportedAttribute, "only 1-D and 2-D convolutions (3-D or 4-D weights) are supported, weight has shape \(Shape.format(w.shape))")
        }
        let a = c.attributes
        if let k = try a.ints("kernel_shape"), k != Array(w.shape[2...]) {
            throw c.error(.malformedFile, "kernel_shape \(k) does not match the weight \(Shape.format(w.shape))")
        }
        let strides = try pair(a.ints("strides") ?? [1, 1], "strides", c)
        let dilations = try pair(a.ints("dilations") ?? [1, 1], "dilations", c)
        let pads = try resolvePads(c, kernel: (w.shape[2], w.shape[3]), strides: strides, dilations: dilations)
        let layer = try Conv2D(weight: w, bias: try c.optionalFloat(2, "bias"), strides: strides, pads: pads,
                               dilations: dilations, groups: try a.int("group", default: 1))
        return .layer(layer, [c.operand(0)])
    }

    static func gemm(_ c: NodeContext) throws -> Conversion {
        try c.requireInputs(2...3)
        let a = c.attributes
        let alpha = try a.float("alpha", default: 1), beta = try a.float("beta", default: 1)
        let transA = try a.int("transA", default: 0) != 0, transB = try a.int("transB", default: 0) != 0
        guard !c.isRuntime(1) else {
            throw c.error(.unsupportedAttribute, "Gemm with a runtime B operand is not supported; B must be an initializer")
        }
        var b = try c.floatConstant(1, "B")
        guard b.rank == 2 else { throw c.error(.malformedFile, "B must be 2-D, got \(Shape.format(b.shape))") }
        if !transB { b = try b.transposed([1, 0]) }
        if alpha != 1 { b = try Tensor.broadcasting(b, Tensor(scalar: alpha), MultiplyFunction.self) }
        var bias = try c.optionalFloat(2, "C")
        if let cc = bias, beta != 1 { bias = try Tensor.broadcasting(cc, Tensor(scalar: beta), MultiplyFunction.self) }
        if beta == 0 { bias = nil }
        return .layer(try Dense(weight: b, bias: bias, transposeInput: transA), [c.operand(0)])
    }

    static func matmul(_ c: NodeContext) throws -> Conversion {
        try c.requireInputs(2...2)
        if !c.isRuntime(1) {
            let b = try c.floatConstant(1, "B")
            // x (…, K) · B (K, M) is a Dense layer with weight Bᵀ over the last axis: it then gets
            // the affine LRP rules (a following bias Add is fused into it after import).
            if b.rank == 2, c.isRuntime(0), let s = c.shape(0), s.count >= 2 {
                return .layer(try Dense(weight: try b.transposed([1, 0])), [c.operand(0)])
            }
            return .layer(try MatMul(constantRight: b), [c.operand(0)])
        }
        return .layer(try MatMul(), [c.operand(0), c.operand(1)])
    }

    static func batchNorm(_ c: NodeContext) throws -> Conversion {
        try c.requireInputs(5...5)
        if try c.attributes.int("training_mode", default: 0) != 0 {
            throw c.attributes.unsupported("training_mode", 1, "export the model in eval mode (model.eval())")
        }
        let layer = try BatchNorm(
            scale: try c.floatConstant(1, "scale"), bias: try c.floatConstant(2, "B"),
            mean: try c.floatConstant(3, "input_mean"), variance: try c.floatConstant(4, "input_var"),
            epsilon: try c.attributes.float("epsilon", default: 1e-5))
        return .layer(layer, [c.operand(0)])
    }

    /// Gather: folded on shape tensors; on a runtime value with constant indices, a `GatherAxis` layer.
    static func gather(_ c: NodeContext) throws -> Conversion {
        if !c.isRuntime(0), c.isRuntime(1), try c.attributes.int("axis", default: 0) == 0,
           case .constant(let k) = c.operand(0), let table = try? k.floatTensor("data"), table.rank == 2 {
            return .layer(try Embedding(table: table), [c.operand(1)])   // token ids → rows (nn.Embedding)
        }
        if case .constant(.float(let data)) = c.operand(0), case .constant(let k) = c.operand(1) {
            // A float constant gathered by constant indices (a bound token_type_ids row): folded.
            let indices = try k.intTensor("indices")
            let gather = try GatherAxis(axis: try c.attributes.int("axis", default: 0), indices: try indices.known("indices"), indicesShape: indices.shape)
            return .constant(.float(try gather.forward([data])))
        }
        guard c.isRuntime(0) else { return try ShapeFolding.gather(c) }
        let indices = try c.requireConstant(1, "indices").intTensor("indices")
        let layer = try GatherAxis(axis: try c.attributes.int("axis", default: 0), indices: try indices.known("indices"), indicesShape: indices.shape)
        return .layer(layer, [c.operand(0)])
    }

    /// Expand: folded when everything is known; a constant broadcast to a shape holding the batch
    /// size (or, while a fixed batch is generalised, that size) becomes a `BatchBroadcast` of the
    /// graph input's batch; a runtime value is broadcast by adding zeros of the target shape.
    static func expand(_ c: NodeContext) throws -> Conversion {
        try c.requireInputs(2...2)
        let target = try c.requireConstant(1, "shape").intTensor("shape")
        if case .constant(let k) = c.operand(0) {
            func toBatch(_ x: Tensor, _ rest: [Int]) throws -> Conversion {
                let full = try Shape.broadcast(x.shape, [1] + rest)
                return .layer(try BatchBroadcast(value: x, shape: Array(full.dropFirst())), [c.batchSource])
            }
            if let known = try? target.known("shape") {
                if case .int(let t) = k { return .constant(.int(try ShapeFolding.expand(t, to: known, c))) }
                let x = try k.floatTensor("input")
                if let b = c.fixedBatch, known.first == b, x.rank < known.count || x.shape.first == 1 {
                    return try toBatch(x, Array(known.dropFirst()))   // e.g. ViT's class token
                }
                return .constant(.float(try Tensor.broadcasting(x, try Tensor(checkedShape: try Shape.broadcast(x.shape, known)), AddFunction.self)))
            }
            guard target.values.first == .batch, let rest = try? IntTensor(shape: [target.values.count - 1], values: Array(target.values.dropFirst())).known("shape") else {
                throw c.error(.unsupportedAttribute, "Expand to a shape with the batch size outside its first dimension is not supported")
            }
            return try toBatch(try k.floatTensor("input"), rest)
        }
        let known = try target.values.enumerated().map { i, v -> Int in
            if case .known(let d) = v { return i == 0 && c.isFixedBatch(d, of: 0) ? 1 : d }
            guard i == 0, let s = c.shape(0), s.first == ShapeProbe.batch else {
                throw c.error(.unsupportedAttribute, "Expand of a runtime value to a shape with the batch size elsewhere is not supported")
            }
            return 1   // the input already carries the batch
        }
        return .layer(Binary(.add, constant: try Tensor(checkedShape: known), side: .right), [c.operand(0)])
    }

    static func layerNorm(_ c: NodeContext) throws -> Conversion {
        try c.requireInputs(2...3)
        if try c.attributes.int("stash_type", default: 1) != 1 {
            throw c.attributes.unsupported("stash_type", try c.attributes.int("stash_type", default: 1), "only float32 statistics (stash_type = 1) are supported")
        }
        let layer = try LayerNorm(scale: try c.floatConstant(1, "Scale"), bias: try c.optionalFloat(2, "B"),
                                  axis: try c.attributes.int("axis", default: -1), epsilon: try c.attributes.float("epsilon", default: 1e-5))
        return .layer(layer, [c.operand(0)])
    }

    // MARK: - Activations

    static func clip(_ c: NodeContext) throws -> Conversion {
        var low = -Float.infinity, high = Float.infinity
        if c.opset < 11 {
            low = try c.attributes.float("min", default: low)
            high = try c.attributes.float("max", default: high)
        } else {
            if let t = try c.optionalFloat(1, "min") { guard t.count == 1 else { throw c.error(.malformedFile, "min must be a scalar") }; low = t.scalars[0] }
            if let t = try c.optionalFloat(2, "max") { guard t.count == 1 else { throw c.error(.malformedFile, "max must be a scalar") }; high = t.scalars[0] }
        }
        return .layer(try Clip(low: low, high: high), [c.operand(0)])
    }

    static func softmax(_ c: NodeContext) throws -> Conversion {
        let coerced = c.opset < 13
        let axis = try c.attributes.int("axis", default: coerced ? 1 : -1)
        // With the coerced (opset < 13) semantics, the last axis is the same as a plain softmax.
        if coerced, let s = c.shape(0), (axis == s.count - 1 || axis == -1) {
            return .layer(Softmax(axis: -1), [c.operand(0)])
        }
        return .layer(Softmax(axis: axis, coerced2D: coerced), [c.operand(0)])
    }

    // MARK: - Element-wise arithmetic

    static func binary(_ c: NodeContext, _ op: Binary.Operation) throws -> Conversion {
        try c.requireInputs(2...2)
        switch (c.operand(0), c.operand(1)) {
        case (.constant(let x), .constant(let y)):
            if case .int(let a) = x, case .int(let b) = y { return .constant(.int(try ShapeFolding.arithmetic(a, b, op, c))) }
            let l = try x.floatTensor("A"), r = try y.floatTensor("B")
            return .constant(.float(try Binary(op, constant: r).forward([l])))
        case (.value, .constant(let y)):
            return .layer(Binary(op, constant: try y.floatTensor("B"), side: .right), [c.operand(0)])
        case (.constant(let x), .value):
            return .layer(Binary(op, constant: try x.floatTensor("A"), side: .left), [c.operand(1)])
        default:
            return .layer(Binary(op), [c.operand(0), c.operand(1)])
        }
    }

    // MARK: - Structure

    static func concat(_ c: NodeContext) throws -> Conversion {
        let axis = try c.attributes.int("axis", default: 0)
        if c.operands.allSatisfy({ if case .constant(.int) = $0 { return true } else { return false } }) {
            return .constant(.int(try ShapeFolding.concat(c.operands.compactMap { if case .constant(.int(let t)) = $0 { return t } else { return nil } }, axis: axis, c)))
        }
        return .layer(try Concat(axis: axis, inputCount: c.operands.count), c.operands)
    }

    static func reshape(_ c: NodeContext) throws -> Conversion {
        try c.requireInputs(2...2)
        let allowZero = try c.attributes.int("allowzero", default: 0) != 0
        let target = try c.requireConstant(1, "shape").intTensor("shape")
        if case .constant(.int(let data)) = c.operand(0) {
            let shape = try Reshape(onnx: try target.known("shape"), allowZero: allowZero).reshape(data.shape)
            return .constant(.int(IntTensor(shape: shape, values: data.values)))
        }
        if let b = c.fixedBatch, let known = try? target.known("shape"), let input = c.shape(0),
           let dims = BatchGeneralisation.reshape(known, input: input, batch: b, allowZero: allowZero) {
            return .layer(try Reshape(dims), [c.operand(0)])
        }
        // The batch symbol becomes "copy" at position 0 or "infer" elsewhere.
        var dims: [Reshape.Dimension] = []
        for (i, v) in target.values.enumerated() {
            switch v {
            case .known(-1): dims.append(.infer)
            case .known(0) where !allowZero: dims.append(.copy)
            case .known(let n): dims.append(.fixed(n))
            case .batch, .scaledBatch:
                if i == 0, v == .batch, let s = c.shape(0), s.first == ShapeProbe.batch {
                    dims.append(.copy)
                } else if !target.values.contains(.known(-1)) && target.values.filter({ $0.batchMultiple != nil }).count == 1 {
                    dims.append(.infer)
                } else {
                    throw c.error(.unsupportedAttribute, "the target shape \(target.values) has more than one extent that depends on the batch size")
                }
            }
        }
        return .layer(try Reshape(dims), [c.operand(0)])
    }

    static func axesInput(_ c: NodeContext, attributeBefore opset: Int) throws -> [Int]? {
        c.opset < opset ? try c.attributes.ints("axes") : try c.ints(1, "axes")
    }

    static func squeeze(_ c: NodeContext) throws -> Conversion {
        let axes = try axesInput(c, attributeBefore: 13)
        if case .constant(.int(let t)) = c.operand(0) {
            return .constant(.int(IntTensor(shape: try Squeeze(axes: axes).reshape(t.shape), values: t.values)))
        }
        return .layer(Squeeze(axes: axes), [c.operand(0)])
    }

    static func unsqueeze(_ c: NodeContext) throws -> Conversion {
        guard let axes = try axesInput(c, attributeBefore: 13) else { throw c.error(.missingValue, "axes are required") }
        if case .constant(.int(let t)) = c.operand(0) {
            return .constant(.int(IntTensor(shape: try Unsqueeze(axes: axes).reshape(t.shape), values: t.values)))
        }
        return .layer(Unsqueeze(axes: axes), [c.operand(0)])
    }

    static func passThrough(_ c: NodeContext) throws -> Conversion {
        switch c.operand(0) {
        case .value(let v, _): return .alias(v)
        case .constant(let k): return .constant(k)
        case .absent: throw c.error(.missingValue, "input is required")
        }
    }

    static func dropout(_ c: NodeContext) throws -> Conversion {
        if c.opset >= 12, case .constant(let t) = c.operand(2), (try? t.ints("training_mode")) != [0] {
            throw c.attributes.unsupported("training_mode", "true", "export the model in eval mode (model.eval())")
        }
        return try passThrough(c)
    }

    static func pad(_ c: NodeContext) throws -> Conversion {
        let mode = try c.attributes.string("mode") ?? "constant"
        guard mode == "constant" else { throw c.attributes.unsupported("mode", mode, "only constant padding is supported") }
        var pads: [Int]
        var value: Float = 0
        if c.opset < 11 {
            pads = try c.attributes.ints("pads") ?? []
            value = try c.attributes.float("value", default: 0)
        } else {
            guard let p = try c.ints(1, "pads") else { throw c.error(.missingValue, "pads are required") }
            pads = p
            if let v = try c.optionalFloat(2, "constant_value") { value = v.scalars.first ?? 0 }
            if let axes = try c.ints(3, "axes"), let rank = c.shape(0)?.count {
                guard pads.count == 2 * axes.count else {
                    throw c.error(.malformedFile, "pads has \(pads.count) values for \(axes.count) axes; it needs two per axis")
                }
                var full = [Int](repeating: 0, count: 2 * rank)
                for (i, a) in axes.enumerated() {
                    let ax = try Shape.axis(a, rank: rank)
                    full[ax] = pads[i]; full[ax + rank] = pads[i + axes.count]
                }
                pads = full
            }
        }
        return .layer(try Pad(pads: pads, value: value), [c.operand(0)])
    }

    static func reduce(_ c: NodeContext, _ op: Reduce.Operation) throws -> Conversion {
        let axesAsInput = op == .sum ? 13 : 18
        let axes = try axesInput(c, attributeBefore: axesAsInput)
        let keep = try c.attributes.int("keepdims", default: 1) != 0
        if (axes ?? []).isEmpty, try c.attributes.int("noop_with_empty_axes", default: 0) != 0 {
            return try passThrough(c)
        }
        return .layer(Reduce(op, axes: (axes ?? []).isEmpty ? nil : axes, keepDims: keep), [c.operand(0)])
    }

    static func constant(_ c: NodeContext) throws -> Conversion {
        let a = c.attributes
        if let t = a.tensor("value") {
            do { return .constant(try c.decoder.decode(t, what: "Constant value")) } catch let e as ExplainError { throw e.at(node: a.node, op: a.op) }
        }
        if a.has("value_float") { return .constant(.float(Tensor(scalar: try a.float("value_float", default: 0)))) }
        if let f = try a.floats("value_floats") { return .constant(.float(try Tensor(shape: [f.count], scalars: f))) }
        if a.has("value_int") { return .constant(.int(IntTensor([try a.int("value_int", default: 0)], shape: []))) }
        if let v = try a.ints("value_ints", bounded: false) { return .constant(.int(IntTensor(v))) }
        throw c.error(.unsupportedAttribute, "Constant without a value, value_float(s) or value_int(s) attribute")
    }
}
