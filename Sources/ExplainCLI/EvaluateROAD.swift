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
        let metric = try ROAD(percentiles: list, noise: noise, seed: UInt64(max(0, seed)))
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
}
