import ExplainKit
import Foundation

extension Evaluate {
    /// `--metric faithfulness_estimate|monotonicity|selectivity|region_perturbation` (Quantus's
    /// faithfulness metrics) on an attribution already computed.
    func faithfulness(model: ExplainableModel, input x: Tensor, attribution a: Tensor, target: Target, run: Range<Int>? = nil) throws {
        let first = run?.lowerBound ?? 0
        func report(_ object: [String: Any], text: () -> Void) throws {
            var o = object
            if let run { o["samples"] = [run.lowerBound, run.upperBound - 1] }
            try self.report(o, text: text)
        }
        let fill = try FillValue(self.fill)
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
