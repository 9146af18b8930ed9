import ExplainKit
import Foundation

extension Evaluate {
    /// `--metric road`: RemOve And Debias, most and least relevant first, on an attribution already computed.
    func road(model: ExplainableModel, input x: Tensor, attribution a: Tensor, target: Target, first: Int,
              report: ([String: Any], () -> Void) throws -> Void) throws {
        let list = try percentiles.split(separator: ",").map { text in
            guard let v = Double(text.trimmingCharacters(in: .whitespaces)) else {
                throw ExplainError(.invalidArgument, "--percentiles \(percentiles): '\(text)' is not a number")
            }
            return v
        }
        let metric = try ROAD(percentiles: list, noise: noise, seed: try seedValue())
        let r = try metric.evaluate(model: model, input: x, attribution: a, target: target)
        try report(["morf": r.morf, "lerf": r.lerf, "morf_mean": r.morfMean, "lerf_mean": r.lerfMean, "combined": r.combined,
                    "percentiles": list, "noise": noise]) {
            print("\(method): ROAD, pixels above percentiles \(list.map { String(format: "%g", $0) }.joined(separator: ",")) of the map removed and "
                  + "linearly imputed (noise \(noise)); change of f_t, averaged (MoRF: most relevant removed, should fall; LeRF: least, should stay)")
            for s in r.combined.indices {
                print(String(format: "sample %d: MoRF %.5g, LeRF %.5g, combined (LeRF − MoRF)/2 %.5g", first + s, r.morfMean[s], r.lerfMean[s], r.combined[s]))
            }
        }
    }

    /// `--metric confidence`: the output on the input multiplied by the map (Grad-CAM++'s Average Drop
    /// and Increase in Confidence; pytorch-grad-cam's CamMultImageConfidenceChange).
    func confidence(model: ExplainableModel, input x: Tensor, attribution a: Tensor, target: Target, first: Int,
                    report: ([String: Any], () -> Void) throws -> Void) throws {
        guard ["minmax", "none"].contains(mapScale) else { throw ExplainError(.invalidArgument, "--map-scale \(mapScale): use minmax or none") }
        let r = try ConfidenceChange(minMaxScale: mapScale == "minmax").evaluate(model: model, input: x, attribution: a, target: target)
        var object: [String: Any] = ["change": r.change, "drop": r.change.map { max(-$0, 0) }, "increase": r.change.map { $0 > 0 }, "map_scale": mapScale]
        if let y = r.probabilityBefore, let o = r.probabilityAfter, let drop = r.averageDrop, let increase = r.increase {
            object.merge(["probability_before": y, "probability_after": o, "average_drop_percent": drop, "increase_percent": increase]) { $1 }
        }
        try report(object) {
            print("\(method): confidence on the input multiplied by the map (\(mapScale == "minmax" ? "scaled to [0, 1]" : "as it is")); change of f_t")
            for s in r.change.indices {
                var line = String(format: "sample %d: change %.5g", first + s, r.change[s])
                if let y = r.probabilityBefore, let o = r.probabilityAfter { line += String(format: ", probability %.4g → %.4g", y[s], o[s]) }
                print(line)
            }
            if let drop = r.averageDrop, let increase = r.increase {
                print(String(format: "Average Drop %.3g %% (lower is better), Increase in Confidence %.3g %% (higher is better)", drop, increase))
            }
        }
    }
}
