import ExplainCore
import Foundation

/// Further model inputs held at fixed values (`ImportOptions.bind`, `--bind`) with one row per
/// sample of the explained batch — each sentence's own `attention_mask` or `token_type_ids`.
///
/// A bound input becomes a constant of the imported graph, so one graph holds one row. With rows
/// per sample, the batch is split into runs of consecutive samples whose rows agree; each run is
/// explained with a graph imported with its rows (a batch of one row, which the model broadcasts
/// over the run and over every method's copies of a sample: noise, path points, masks). Arrays
/// with one row are shared by the whole batch as before.
public struct SampleBindings: Sendable {
    /// Arrays with one row (or that are not batch-shaped): the same for every sample.
    public let shared: [String: Tensor]
    /// Arrays with one row per sample.
    public let perSample: [String: Tensor]
    /// The batch size.
    public let batch: Int

    /// Sorts `bind` into shared arrays and arrays with one row per sample of a batch of `n` (a
    /// first extent equal to `n > 1`).
    public init(_ bind: [String: Tensor], batch n: Int) {
        var shared: [String: Tensor] = [:], perSample: [String: Tensor] = [:]
        for (name, t) in bind {
            if n > 1, t.rank >= 1, t.shape[0] == n { perSample[name] = t } else { shared[name] = t }
        }
        self.shared = shared
        self.perSample = perSample
        self.batch = n
    }

    /// Whether any array holds one row per sample.
    public var isPerSample: Bool { !perSample.isEmpty }

    /// Runs of consecutive samples whose per-sample rows agree.
    public func groups() throws -> [Range<Int>] {
        guard isPerSample, batch > 1 else { return [0..<max(batch, 0)] }
        let rows = try perSample.sorted { $0.key < $1.key }.map { _, t in try (0..<batch).map { try t.sample($0).scalars } }
        var out: [Range<Int>] = [], start = 0
        for s in 1..<batch where rows.contains(where: { $0[s] != $0[s - 1] }) {
            out.append(start..<s)
            start = s
        }
        out.append(start..<batch)
        return out
    }

    /// The bindings for a run of samples: the shared arrays and the run's rows (as one row).
    public func bind(for group: Range<Int>) throws -> [String: Tensor] {
        var b = shared
        for (name, t) in perSample { b[name] = try t.sample(group.lowerBound) }
        return b
    }

    /// Explains `input` (a batch of `batch` samples) run by run: `body` gets the model imported
    /// from `path` with the run's rows, the run's samples and their target, and the attributions
    /// are joined in order. Without per-sample rows the whole batch is one run.
    public func attribute(path: String, options: ImportOptions = ImportOptions(), input: Tensor, target: Target,
                          _ body: (ImportedModel, Tensor, Target) throws -> Attribution) throws -> Attribution {
        let runs = try groups(input)
        var parts: [Attribution] = []
        for run in runs {
            var o = options
            o.bind = try bind(for: run)
            let model = try ONNXImporter.load(path: path, options: o)
            let whole = run.count == batch
            parts.append(try body(model, whole ? input : try input.samples(run), whole ? target : try target.samples(run, of: batch)))
        }
        var joined = parts.count == 1 ? parts[0] : try Attribution.joining(parts)
        if parts.count > 1 { joined.diagnostics.append("bound inputs with one row per sample: \(parts.count) runs of samples, one import each") }
        return joined
    }

    /// The model's explained output on `input`, run by run (see `attribute`).
    public func predict(path: String, options: ImportOptions = ImportOptions(), input: Tensor,
                        _ body: (ImportedModel, Tensor) throws -> Tensor) throws -> Tensor {
        let runs = try groups(input)
        var parts: [Tensor] = []
        for run in runs {
            var o = options
            o.bind = try bind(for: run)
            parts.append(try body(try ONNXImporter.load(path: path, options: o), run.count == batch ? input : try input.samples(run)))
        }
        return parts.count == 1 ? parts[0] : try Tensor.concatenateBatches(parts)
    }

    private func groups(_ input: Tensor) throws -> [Range<Int>] {
        guard input.rank >= 1, input.shape[0] == batch else {
            throw ExplainError.shape("the bound inputs were sorted for a batch of \(batch); the input has shape \(Shape.format(input.shape))")
        }
        return try groups()
    }
}
