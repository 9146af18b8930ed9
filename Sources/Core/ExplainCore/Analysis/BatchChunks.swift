import Foundation

/// Splitting a batch whose analysis would not fit into memory.
///
/// A backward analysis keeps every intermediate value of the forward pass, so its memory grows
/// with the batch: VGG-16 needs ≈ 0.1 GB per image (measured; the estimate says 0.17). Rather than let the system kill the process,
/// an analyzer estimates the bytes per sample from the value shapes, and a batch above what the
/// available memory holds runs in chunks (attributions do not depend on the batch: tested) — or,
/// when not even one sample fits, fails with a `tooLarge` error before allocating.
public enum BatchChunks {
    /// Share of the available memory one chunk may plan to use.
    public static let share = 0.7
    /// Below this estimate for the whole batch the available memory is not even read.
    public static let floorBytes = 256 << 20

    /// Bytes one sample of `inputShape` needs in a backward analysis of `graph`: every value kept
    /// once, plus four of the largest (gradients in flight, a rule's per-layer products).
    public static func backwardBytesPerSample(_ graph: Graph, inputShape: [Int]) throws -> Int {
        try bytesPerSample(graph, inputShape) { sizes, _ in sizes.reduce(0, +) + 4 * (sizes.max() ?? 0) }
    }

    /// Bytes one sample needs in a forward pass that frees values as it goes: the input and three
    /// of the largest values (a layer's input and output, and a consumer's second input).
    public static func forwardBytesPerSample(_ graph: Graph, inputShape: [Int]) throws -> Int {
        try bytesPerSample(graph, inputShape) { sizes, input in input + 3 * (sizes.max() ?? 0) }
    }

    /// `4 × elements(value sizes at batch 1, input size)` in bytes, computed in Double so that a
    /// malformed graph's shapes cannot overflow it.
    private static func bytesPerSample(_ graph: Graph, _ inputShape: [Int], _ elements: ([Double], Double) -> Double) throws -> Int {
        guard !inputShape.isEmpty else { return 0 }
        let one = [1] + inputShape.dropFirst()
        let sizes = try graph.inferShapes([one]).compactMap { $0.map { $0.reduce(1.0) { $0 * Double($1) } } }
        let bytes = 4 * elements(sizes, one.reduce(1.0) { $0 * Double($1) })
        return bytes < Double(Int.max / 2) ? Int(bytes) : Int.max / 2
    }

    /// Copies of a sample per batch for methods that build batches of altered copies (noise,
    /// path points, masks): the requested size, but at most 2^28 values (1 GiB) per batch, and one
    /// when the copies run through a `graph` fixed at batch size 1.
    public static func copiesPerBatch(_ requested: Int, elementsPerCopy: Int, graph: Graph? = nil) -> Int {
        if graph?.runsOneSampleAtATime == true { return 1 }
        return max(1, min(requested, (1 << 28) / max(1, elementsPerCopy)))
    }

    /// The consecutive ranges of at most `size` (≥ 1) samples that cover a batch of `n`.
    static func ranges(_ n: Int, size: Int) -> [Range<Int>] {
        stride(from: 0, to: n, by: max(1, size)).map { $0..<min(n, $0 + max(1, size)) }
    }

    /// `graph.predict` on a batch, in chunks when the whole batch would not fit into memory
    /// (`budget` overrides the available memory).
    public static func predict(_ graph: Graph, _ input: Tensor, output: ValueID? = nil, budget: Int? = nil) throws -> Tensor {
        guard input.rank >= 1, input.shape[0] > 1 else { return try graph.predict(input, output: output) }
        let n = input.shape[0]
        let size = graph.runsOneSampleAtATime ? 1
            : try samplesPerChunk(batch: n, bytesPerSample: try forwardBytesPerSample(graph, inputShape: input.shape), budget: budget)
        guard size < n else { return try graph.predict(input, output: output) }
        return try Tensor.concatenateBatches(try ranges(n, size: size).map { try graph.predict(try input.samples($0), output: output) })
    }

    /// How many samples one chunk may hold (the whole batch when it fits); throws `tooLarge` when
    /// not even one sample fits. `budget` overrides the available memory (bytes).
    public static func samplesPerChunk(batch: Int, bytesPerSample: Int, budget: Int? = nil) throws -> Int {
        guard batch > 0, bytesPerSample > 0 else { return max(batch, 1) }
        let (total, overflow) = batch.multipliedReportingOverflow(by: bytesPerSample)
        if budget == nil, !overflow, total <= floorBytes { return batch }
        let usable = Int(Double(budget ?? Memory.available()) * share)
        guard bytesPerSample <= usable else {
            throw ExplainError(.tooLarge, "one sample needs about \(gib(bytesPerSample)) GiB for this analysis and about "
                               + "\(gib(usable)) GiB can be used: explain a smaller input or use a machine with more memory")
        }
        return min(batch, usable / bytesPerSample)
    }

    static func gib(_ bytes: Int) -> String { String(format: "%.2f", Double(bytes) / Double(1 << 30)) }

    /// Runs `body` on each chunk of at most `size` samples of `input` (the samples' range, their
    /// part of `input` and of `target`) and joins the attributions; a note says how the batch was split.
    /// A graph that runs one sample at a time (`Graph.runsOneSampleAtATime`), or `oneAtATime`, gets chunks of one.
    public static func run(_ input: Tensor, target: Target, size: Int, graph: Graph? = nil, oneAtATime: Bool = false,
                           _ body: (Range<Int>, Tensor, Target) throws -> Attribution) throws -> Attribution {
        let fixed = oneAtATime || graph?.runsOneSampleAtATime == true
        let n = input.shape.first ?? 0, size = fixed ? 1 : max(1, size)
        guard size < n else { return try body(0..<n, input, target) }
        let parts = try ranges(n, size: size).map { range in
            let part = try body(range, try input.samples(range), try target.samples(range, of: n))
            guard part.values.shape.first == range.count else {
                // e.g. a layer inside sequence-first attention: its values cannot be stacked by sample.
                throw ExplainError.shape("the attribution of \(range.count) sample\(range.count == 1 ? "" : "s") has shape "
                    + "\(Shape.format(part.values.shape)), which does not lead with the batch, so the batch of \(n) cannot run in parts"
                    + (fixed ? " (the model was exported with a fixed batch size of 1: explain one sample at a time, choose a layer "
                               + "whose value leads with the batch, or re-export the model with dynamic_axes)" : ": explain fewer samples at once"))
            }
            return part
        }
        var joined = try Attribution.joining(parts)
        joined.diagnostics.append(fixed ? "the batch of \(n) ran one sample at a time: the model was exported with a fixed batch size of 1"
            : "the batch of \(n) ran in \(parts.count) chunks of at most \(size) sample\(size == 1 ? "" : "s") to fit into memory")
        return joined
    }
}

extension Target {
    /// The selection for samples `range` of a batch of `n`.
    public func samples(_ range: Range<Int>, of n: Int) throws -> Target {
        switch self {
        case .max, .index, .all: return self
        case .indices(let list):
            guard list.count == n else { throw ExplainError.argument("\(list.count) target indices given for a batch of \(n)") }
            return .indices(Array(list[range]))
        case .seed(let t):
            guard t.shape.first == n else {
                throw ExplainError.shape("the seed has shape \(Shape.format(t.shape)) for a batch of \(n)")
            }
            return .seed(try t.samples(range))
        }
    }
}

extension Attribution {
    /// The attributions of consecutive chunks of one batch, as one.
    public static func joining(_ parts: [Attribution]) throws -> Attribution {
        guard let first = parts.first else { throw ExplainError.argument("no attributions to join") }
        var joined = Attribution(values: try Tensor.concatenateBatches(parts.map(\.values)),
                                 output: try Tensor.concatenateBatches(parts.map(\.output)))
        joined.targets = parts.allSatisfy({ $0.targets != nil }) ? parts.flatMap { $0.targets ?? [] } : nil
        joined.delta = parts.allSatisfy({ $0.delta != nil }) ? parts.flatMap { $0.delta ?? [] } : nil
        for name in first.captured.keys {
            let pieces = parts.compactMap { $0.captured[name] }
            if pieces.count == parts.count { joined.captured[name] = try Tensor.concatenateBatches(pieces) }
        }
        for name in first.extras.keys {
            let pieces = parts.compactMap { $0.extras[name] }
            if pieces.count == parts.count { joined.extras[name] = try Tensor.concatenateBatches(pieces) }
        }
        var seen = Set<String>()
        joined.diagnostics = parts.flatMap(\.diagnostics).filter { seen.insert($0).inserted }
        return joined
    }
}
