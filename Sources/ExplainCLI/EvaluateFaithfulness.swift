import ExplainKit
import Foundation

extension Evaluate {
    /// `--metric faithfulness_estimate|faithfulness_correlation|monotonicity|monotonicity_correlation|
    /// selectivity|region_perturbation|non_sensitivity|sufficiency` (Quantus's faithfulness metrics)
    /// on an attribution already computed.
    func faithfulness(model: ExplainableModel, input x: Tensor, attribution a: Tensor, target: Target, run: Range<Int>? = nil) throws {
        let first = run?.lowerBound ?? 0
        func report(_ object: [String: Any], text: () -> Void) throws {
            var o = object
            if let run { o["samples"] = [run.lowerBound, run.upperBound - 1] }
            try self.report(o, text: text)
        }
        let seed = try seedValue()
        if ["faithfulness_correlation", "monotonicity_correlation"].contains(metric) {
            let fill = try PerturbationFill(self.fill ?? (metric == "faithfulness_correlation" ? "black" : "uniform"))
            let scores: [Double]
            if metric == "faithfulness_correlation" {
                scores = try FaithfulnessCorrelation(runs: subsetRuns, subsetSize: subset, fill: fill, seed: seed)
                    .evaluate(model: model, input: x, attribution: a, target: target)
            } else {
                scores = try MonotonicityCorrelation(samples: samples ?? 100, featuresInStep: featuresInStep, fill: fill, eps: eps, seed: seed)
                    .evaluate(model: model, input: x, attribution: a, target: target)
            }
            let what = metric == "faithfulness_correlation"
                ? "faithfulness correlation, \(subsetRuns) random subsets of \(subset) features set to \(fill); Pearson correlation of Σ attribution and output drop (1 is best)"
                : "monotonicity correlation, \(featuresInStep) feature(s) per step perturbed \(samples ?? 100) times with \(fill); Spearman correlation of Σ |attribution| and output variance (1 is best)"
            return try report(["scores": scores, "fill": fill.description, "seed": seed]) {
                print("\(method): \(what); numpy seed \(seed)")
                rows("", scores.map { String(format: "%.6g", $0) })
            }
        }
        let fill = try FillValue(self.fill ?? (metric == "irof" ? "mean" : "black"))
        func rows(_ label: String, _ values: [String]) {
            for (s, v) in values.enumerated() { print("sample \(first + s)  " + (label.isEmpty ? "" : label + " ") + v) }
        }
        switch metric {
        case "faithfulness_estimate":
            let scores = try FaithfulnessEstimate(featuresInStep: featuresInStep, fill: fill).evaluate(model: model, input: x, attribution: a, target: target)
            try report(["scores": scores, "features_in_step": featuresInStep, "fill": fill.description]) {
                print("\(method): faithfulness estimate, \(featuresInStep) feature(s) per step set to \(fill); Pearson correlation of each step's Σ attribution and output drop (1 is best)")
                rows("", scores.map { String(format: "%.6g", $0) })
            }
        case "monotonicity":
            let r = try Monotonicity(featuresInStep: featuresInStep, fill: fill).evaluate(model: model, input: x, attribution: a, target: target)
            try report(["monotonic": r.monotonic, "curves": r.curves, "features_in_step": featuresInStep, "fill": fill.description]) {
                print("\(method): monotonicity, features given back from \(fill) in steps of \(featuresInStep), least |attribution| first; the output should never fall")
                rows("", r.monotonic.map { $0 ? "monotonic" : "not monotonic" })
            }
        case "irof":
            var p = Superpixels.Parameters()
            (p.segments, p.compactness) = (slic, compactness)
            let segments = try Superpixels.labels(p, input: x).labels
            let r = try IROF(fill: fill).evaluate(model: model, input: x, attribution: a, target: target, segments: segments)
            try report(["aoc": r.aoc, "curves": r.curves, "slic": slic, "compactness": compactness, "fill": fill.description]) {
                print("\(method): IROF, scikit-image SLIC superpixels (about \(slic), compactness \(compactness)) set to \(fill) in the order of their mean attribution; area over the curve of f_t / f_t(x) (higher is better)")
                rows("AOC", r.aoc.map { String(format: "%.6g", $0) })
            }
        case "non_sensitivity":
            let counts = try NonSensitivity(eps: eps, featuresInStep: featuresInStep, fill: fill).evaluate(model: model, input: x, attribution: a, target: target)
            try report(["violations": counts, "eps": eps, "features_in_step": featuresInStep, "fill": fill.description]) {
                print("\(method): non-sensitivity, features set to \(fill) \(featuresInStep) at a time; features where a zero attribution and an unchanged output (< \(eps)) disagree (0 is best)")
                rows("", counts.map { String($0) })
            }
        case "sufficiency":
            let scores = try Sufficiency(threshold: threshold).evaluate(model: model, input: x, attribution: a)
            try report(["scores": scores, "threshold": threshold]) {
                print("\(method): sufficiency, share of the samples with close explanations (distance ≤ \(threshold) of the batch's largest) that get the same class (1 is best)")
                rows("", scores.map { String(format: "%.6g", $0) })
            }
        default:
            let kind: PatchPerturbation.Kind = metric == "selectivity" ? .selectivity : .regionPerturbation
            guard let order = PixelFlipping.Order(rawValue: order) else { throw ExplainError(.invalidArgument, "--order \(self.order): use morf or lerf") }
            let metric = try PatchPerturbation(kind: kind, patchSize: patch, order: kind == .selectivity ? .morf : order,
                                               regions: regions ?? (kind == .selectivity ? nil : 100), fill: fill)
            let r = try metric.evaluate(model: model, input: x, attribution: a, target: target)
            try report(["curves": r.curves, "auc": r.auc, "patch": patch, "order": metric.order.rawValue, "fill": fill.description]) {
                let what = kind == .selectivity ? "selectivity: f_t after each patch is removed, most relevant first (smaller area is better)"
                    : "region perturbation (\(metric.order.rawValue.uppercased())): drop of f_t as patches are removed (MoRF: larger area is better)"
                print("\(method): \(what); patches \(patch)×\(patch) set to \(fill)")
                rows("area", r.auc.map { String(format: "%.6g", $0) })
            }
        }
    }
}
