/// An analyzer that runs any batch on a graph fixed at batch size 1 by itself (`BatchChunks.run`
/// with the graph, `BatchChunks.predict`, `Scorer`, `layerPass`), and must: its seeded draws run
/// across the samples of a batch (a split would change them), or its samples depend on each other
/// (feature permutation). The registry does not wrap it in `SampleBySample`.
public protocol SplitsItsOwnBatches: Analyzer {}

/// Runs another analyzer one sample at a time: the registry wraps every analyzer of a graph fixed
/// at batch size 1 (`Graph.runsOneSampleAtATime`: a model exported with a fixed batch of 1 whose
/// batch could not be opened) in it, so that a batch of several samples still runs. Analyzers that
/// split their batches themselves (`SplitsItsOwnBatches`, e.g. `BackpropAnalyzer`) are not
/// wrapped, so callers that need one (noise tunnels, the layer methods' bases) still get it;
/// methods that batch altered copies of a sample take one copy per batch on such a graph
/// (`BatchChunks.copiesPerBatch`), and `layerPass` runs one sample at a time there.
public struct SampleBySample: SplitsItsOwnBatches {
    public let inner: any Analyzer
    public var id: String { inner.id }

    public init(_ inner: any Analyzer) { self.inner = inner }

    public func analyze(_ input: Tensor, target: Target) throws -> Attribution {
        guard input.rank >= 1, input.shape[0] > 1 else { return try inner.analyze(input, target: target) }
        return try BatchChunks.run(input, target: target, size: 1, oneAtATime: true) { _, x, t in try inner.analyze(x, target: t) }
    }
}
