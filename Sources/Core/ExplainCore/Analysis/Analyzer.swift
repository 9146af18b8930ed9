import Dispatch
import Foundation
/// An explanation method, created for one model: batch in, attribution batch out.
public protocol Analyzer: Sendable {
    /// The registry id (e.g. `gradient`, `lrp.epsilon`).
    var id: String { get }
    /// Explains a batch.
    func analyze(_ input: Tensor, target: Target) throws -> Attribution
}

/// Explains with one backward pass whose per-node behaviour comes from a bound preset: the plain
/// gradient (no preset), signal methods (rules on Relu), LRP (rules on affine layers and more).
public struct BackpropAnalyzer: SplitsItsOwnBatches {
    public let id: String
    public let model: ExplainableModel
    public let bound: BoundGraph
    /// What the seed holds at the selected neuron(s).
    public let seedValue: Target.SeedValue
    /// Multiply the result by the input (Input × Gradient).
    public let timesInput: Bool
    /// Report conservation, Σ values − Σ seed per sample, as the delta (LRP; default: when the
    /// seed holds the output value).
    public var reportsConservation: Bool
    /// Node names whose incoming relevance/gradient is returned in `Attribution.captured`.
    public var keep: [String]
    /// Notes from making the analyzer (e.g. a user rule entry that matched no node), added to
    /// every attribution's diagnostics.
    public var notes: [String] = []
    /// The memory a batch may use, in bytes (nil: what the system has available); a larger batch
    /// runs in chunks (`BatchChunks`).
    public var memoryBudget: Int? = nil
    /// A reference input (DeepLIFT): when set, the model also runs on `x0`, the bound rules see
    /// its values (`Site.reference`), `timesInput` multiplies by `x − x0`, and `delta` reports
    /// completeness: Σ values − Σ seed ⊙ (f(x) − f(x0)) per sample.
    public var baseline: Baseline? = nil
    /// The reference pass of the last shared (batch-of-one) baseline: it depends only on the
    /// baseline, so later analyses reuse it.
    let referenceCache = ReferenceCache()

    public init(id: String, model: ExplainableModel, preset: Preset? = nil, seedValue: Target.SeedValue = .one,
                timesInput: Bool = false, keep: [String] = []) throws {
        self.id = id
        let bound = try BoundGraph(model.graph, preset: preset)
        // Canonizers may rename nothing but can remove nodes: find the explained value again by name.
        var m = model
        m.graph = bound.graph
        m.output = try bound.graph.value(named: model.graph.valueNames[model.output])
        for name in keep { _ = try bound.graph.value(named: name) }
        self.model = m
        self.bound = bound
        self.seedValue = seedValue
        self.reportsConservation = seedValue == .outputValue
        self.timesInput = timesInput
        self.keep = keep
    }

    public func analyze(_ input: Tensor, target: Target) throws -> Attribution {
        try input.requireFinite("the input")
        guard input.rank >= 1, input.shape[0] >= 1 else { return try run(input, target: target, baseline: nil, timed: false).attribution }
        let x0 = try baseline?.batch(like: input)
        let perSample = try BatchChunks.backwardBytesPerSample(model.graph, inputShape: input.shape)
        let size = try BatchChunks.samplesPerChunk(batch: input.shape[0], bytesPerSample: perSample, budget: memoryBudget)
        return try BatchChunks.run(input, target: target, size: size, graph: model.graph) { range, x, t in
            let chunkBaseline = try x0.map { b in b.shape[0] == 1 ? b : try b.samples(range) }
            return try run(x, target: t, baseline: chunkBaseline, timed: false).attribution
        }
    }

    /// Time spent in one analysis: the forward pass, and each node of the backward pass.
    public struct Profile: Sendable {
        public var forwardSeconds: Double
        public var backwardSeconds: [(node: String, seconds: Double)]
    }

    /// Runs `analyze` once and reports where the time went (`explain bench --profile`).
    public func profile(_ input: Tensor, target: Target) throws -> Profile {
        try input.requireFinite("the input")
        return try run(input, target: target, baseline: try baseline?.batch(like: input), timed: true).profile
    }

    private func run(_ input: Tensor, target: Target, baseline x0: Tensor?, timed: Bool,
                     checkFinite: Bool = false) throws -> (attribution: Attribution, profile: Profile) {
        let g = model.graph
        let t0 = DispatchTime.now().uptimeNanoseconds
        let references = try x0.map { x0 in
            try referenceCache.activations(for: x0) { try g.forward([x0], outputs: [model.output], retain: .values(bound.referenceValues)) }
        }
        var acts = try g.forward([input], outputs: [model.output], retain: bound.retention)
        let forwardSeconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        let output = try acts.value(model.output)
        let (seed, picked) = try target.seed(for: output, value: seedValue)
        let keepIDs = try keep.map { try g.value(named: $0) }
        let result = try bound.backward(&acts, seeds: [model.output: seed], capture: Set(keepIDs), timed: timed, checkFinite: checkFinite,
                                        references: references)
        if !checkFinite && !result.inputs[0].isFinite {
            // Rare: repeat with a finiteness check per node to name where it started.
            return try run(input, target: target, baseline: x0, timed: timed, checkFinite: true)
        }
        var values = result.inputs[0]
        if timesInput {
            values = try Tensor.broadcasting(values, try x0.map { try input.minus(baseline: $0) } ?? input, MultiplyFunction.self)
        }
        var captured: [String: Tensor] = [:]
        for (name, v) in zip(keep, keepIDs) { captured[name] = result.captured[v] }
        var notes = self.notes
        if let bad = result.firstNonFinite { notes.append("first non-finite value at node '\(bad)'") }
        var attribution = Attribution(values: values, output: output, targets: picked, captured: captured, diagnostics: notes)
        // Relevance methods report conservation: Σ input relevance − Σ seed, per sample.
        if reportsConservation {
            attribution.delta = zip(attribution.sums, seed.sampleSums).map { $0 - $1 }
        }
        // Reference methods report completeness: Σ values − Σ seed ⊙ (f(x) − f(x0)), per sample.
        if let references {
            let change = try output.minus(baseline: try references.value(model.output))
            attribution.delta = zip(attribution.sums, try Tensor.broadcasting(seed, change, MultiplyFunction.self).sampleSums).map { $0 - $1 }
        }
        return (attribution, Profile(forwardSeconds: forwardSeconds, backwardSeconds: result.nodeSeconds))
    }
}

/// Remembers the reference pass of one shared baseline (thread-safe; analyzers are shared).
final class ReferenceCache: @unchecked Sendable {
    private let lock = NSLock()
    private var entry: (baseline: Tensor, activations: Activations)?

    /// The cached pass when `x0` is a batch of one equal to the cached baseline; otherwise `compute()`
    /// (cached when `x0` is a batch of one).
    func activations(for x0: Tensor, compute: () throws -> Activations) throws -> Activations {
        guard x0.shape.first == 1 else { return try compute() }
        lock.lock()
        let hit = entry.flatMap { $0.baseline == x0 ? $0.activations : nil }
        lock.unlock()
        if let hit { return hit }
        let computed = try compute()
        lock.lock()
        entry = (x0, computed)
        lock.unlock()
        return computed
    }
}

extension Analyzer {
    /// Explains `count` altered copies of sample `s` of `input` (noise tunnels, path integrals), in
    /// batches of at most `batchSize`: `fill(copy, buffer)` writes each copy, every copy explains
    /// what the sample explains (`Target.copies`), and `use(copy, values)` receives each copy's
    /// input-shaped attribution. Returns the batches' diagnostics.
    public func analyzeCopies(of s: Int, in input: Tensor, count: Int, batchSize: Int, target: Target, resolved: [Int]?,
                              fill: (Int, UnsafeMutableBufferPointer<Float>) -> Void,
                              use: (Int, UnsafeBufferPointer<Float>) -> Void) throws -> [String] {
        let per = input.count / Swift.max(input.shape.first ?? 1, 1)
        var diagnostics: [String] = []
        var done = 0
        while done < count {
            let m = Swift.min(BatchChunks.copiesPerBatch(batchSize, elementsPerCopy: per), count - done)
            var shape = input.shape
            shape[0] = m
            let start = done
            let copies = Tensor(shape: shape) { p in
                for c in 0..<m { fill(start + c, UnsafeMutableBufferPointer(rebasing: p[(c * per)..<((c + 1) * per)])) }
            }
            let a = try analyze(copies, target: try target.copies(ofSample: s, count: m, resolved: resolved))
            guard a.values.count == m * per else {
                throw ExplainError.shape("\(id) returned \(Shape.format(a.values.shape)) for \(m) copies of \(Shape.format(Array(input.shape.dropFirst()))); input-shaped attributions are needed")
            }
            a.values.withUnsafeBufferPointer { p in
                for c in 0..<m { use(start + c, UnsafeBufferPointer(rebasing: p[(c * per)..<((c + 1) * per)])) }
            }
            diagnostics += a.diagnostics
            done += m
        }
        return diagnostics
    }
}
