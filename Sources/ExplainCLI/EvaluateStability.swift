import ExplainKit
import Foundation

extension Evaluate {
    /// `--metric local_lipschitz_estimate|relative_input_stability|relative_output_stability|continuity|
    /// random_logit`: Quantus's metrics that explain perturbed inputs (or another class) again.
    func stability(registry: Registry, options: Options, model: ExplainableModel, input x: Tensor, target: Target, first: Int,
                   report: ([String: Any], () -> Void) throws -> Void) throws {
        let analyzer = try registry.makeAnalyzer(method, model: model, options: options)
        func rows(_ values: [Double]) {
            for (s, v) in values.enumerated() { print(String(format: "sample %d  %.6g", first + s, v)) }
        }
        switch metric {
        case "local_lipschitz_estimate":
            let n = samples ?? 200, seed = try seedValue()
            let scores = try LocalLipschitzEstimate(samples: n, std: std, seed: seed).evaluate(analyzer, input: x, target: target)
            try report(["scores": scores, "samples": n, "std": std, "seed": seed]) {
                print("\(method): local Lipschitz estimate, largest ‖Φ(x) − Φ(x̃)‖ / ‖x − x̃‖ over \(n) Gaussian perturbations (σ = \(std), numpy seed \(seed)); lower is more robust")
                rows(scores)
            }
        case "relative_input_stability", "relative_output_stability", "relative_representation_stability":
            let bounds = noiseRange.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
            guard bounds.count == 2, let low = bounds[0], let high = bounds[1] else {
                throw ExplainError(.invalidArgument, "--noise-range \(noiseRange): give LOW,HIGH (two numbers)")
            }
            let kind: RelativeStability.Kind
            switch metric {
            case "relative_input_stability": kind = .input
            case "relative_output_stability": kind = .output
            default:
                guard let layer else { throw ExplainError(.invalidArgument, "--metric relative_representation_stability needs --layer NODE (the hidden layer whose output is compared)") }
                kind = .representation(layer)
            }
            let n = samples ?? 200, seed = try seedValue()
            let scores = try RelativeStability(kind: kind, samples: n, low: low, high: high, seed: seed)
                .evaluate(analyzer, model: model, input: x, target: target)
            try report(["scores": scores, "samples": n, "noise_range": [low, high], "seed": seed]) {
                let what = switch kind {
                case .input: "input (RIS)"
                case .output: "output (ROS)"
                case .representation(let name): "representation at \(name) (RRS)"
                }
                print("\(method): relative \(what) stability, largest relative change of Φ per relative change of it over \(n) perturbations U(\(low), \(high)) that keep the class (numpy seed \(seed)); lower is more stable")
                rows(scores)
            }
        case "continuity":
            let fill = try FillValue(self.fill ?? "black")
            let metric = try Continuity(steps: shifts, fill: fill)
            let scores = try metric.evaluate(analyzer, input: x, target: target)
            try report(["scores": scores, "shifts": metric.shifts(width: x.rank == 4 ? x.shape[3] : 0), "fill": fill.description]) {
                print("\(method): continuity, largest ‖Φ(x) − Φ(x̃)‖₁ / ‖x − x̃‖₂ over \(shifts) sideways shifts (columns shifted in: \(fill)); lower is smoother")
                rows(scores)
            }
        default:
            let seed = try seedValue(42)
            let (output, _, _) = try model.cleanPass(x, target: target)
            let r = try RandomLogit(seed: seed).evaluate(analyzer, input: x, target: target, classes: output.count / max(x.shape[0], 1))
            try report(["scores": r.similarity, "targets": r.targets, "others": r.others, "seed": seed]) {
                print("\(method): random logit, SSIM of the explanations of the target and of a random other class (numpy seed \(seed)); lower: the explanation depends on the class")
                for s in r.similarity.indices {
                    print(String(format: "sample %d  %.6g  (class %d against %d)", first + s, r.similarity[s], r.targets[s], r.others[s]))
                }
            }
        }
    }
}
