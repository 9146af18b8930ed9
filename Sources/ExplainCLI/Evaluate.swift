import ArgumentParser
import ExplainKit
import Foundation

struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate an explanation method: pixel flipping (AOPC), Quantus's faithfulness metrics (faithfulness estimate and correlation, monotonicity and its correlation, selectivity, region perturbation, IROF, non-sensitivity, sufficiency), the model-randomisation sanity check, random logit, infidelity, max-sensitivity, Quantus's robustness metrics (local Lipschitz estimate, relative input / output / representation stability, continuity), sensitivity-n, the complexity metrics (sparseness, complexity, effective complexity), localisation against a mask, Focus on mosaics, ROAD or the CAM confidence metrics.")

    @Argument(help: "The ONNX model file.") var model: String
    @Option(help: "Input batch as a .npy file (float32, batch first).") var input: String
    @Option(help: "Method id (see `explain list`).") var method: String
    @Option(name: .customLong("set"), help: "Method parameter key=value (repeatable).") var settings: [String] = []
    @Option(parsing: .unconditional, help: "max (default), an output index, or file:T.npy.") var target: String = "max"
    @Option(name: .customLong("output-node"), help: "Explain this node's output instead of the logits.") var outputNode: String?
    @Option(name: .customLong("bind"), help: "NAME=file:X.npy: hold a further model input at fixed values (repeatable; e.g. attention_mask).") var bindings: [String] = []
    @Option(help: "pixel_flipping, faithfulness_estimate, faithfulness_correlation, monotonicity, monotonicity_correlation, selectivity, region_perturbation, irof, non_sensitivity, sufficiency, randomisation, random_logit, local_lipschitz_estimate, relative_input_stability, relative_output_stability, relative_representation_stability, continuity, infidelity, sensitivity, sensitivity_n, sparseness, complexity, effective_complexity, localisation, focus, road or confidence.") var metric: String = "pixel_flipping"
    @Option(help: "Pixel flipping: perturbation steps.") var steps: Int = 16
    @Option(help: "Pixel flipping, sensitivity-n: side of the square regions (images).") var region: Int = 1
    @Option(help: "Pixel flipping: share of the regions replaced by the last step.") var fraction: Double = 1
    @Option(help: "Pixel flipping, sensitivity-n: value of replaced regions (number, one per channel, or file:B.npy).") var baseline: String = "0"
    @Option(help: "Randomisation: cascading or independent.") var mode: String = "cascading"
    @Option(name: .customLong("hog-cell"), help: "Randomisation: HOG cell side in pixels (9 orientations, 3 × 3-cell blocks; maps need 3 cells per side).") var hogCell: Int = 8
    @Option(parsing: .unconditional, help: "Random seed of the metrics that draw (default 0; random logit: 42, Quantus's); the Quantus metrics draw as numpy after np.random.seed(seed).") var seed: Int?
    @Option(help: "Sensitivity-n: random subsets per size.") var subsets: Int = 100
    @Option(help: "Sensitivity-n: comma-separated subset sizes in regions (default: 8 sizes from 1 to 80 % of the regions, log-spaced).") var sizes: String?
    @Option(help: "Infidelity, sensitivity: perturbations per sample (default 10); monotonicity correlation: perturbations per step (default 100).") var samples: Int?
    @Option(help: "Infidelity: standard deviation of the Gaussian perturbations.") var sigma: Double = 0.003
    @Option(help: "Sensitivity: radius of the uniform perturbations.") var radius: Double = 0.02
    @Option(help: "Localisation: binary mask of the object (.npy, one map per sample; non-zero = object).") var mask: String?
    @Option(help: "Focus: per mosaic four flags (.npy, N × 4; non-zero: the quadrant — top left, top right, bottom left, bottom right — shows the target class).") var quadrants: String?
    @Option(name: .customLong("top-k"), help: "Localisation: k of the top-k intersection.") var topK: Int = 1000
    @Option(name: .customLong("features-in-step"), help: "Faithfulness estimate, monotonicity: features perturbed per step (Quantus features_in_step).") var featuresInStep: Int = 1
    @Option(help: "Quantus's perturbation metrics: what perturbed features become: black (each sample's minimum; the default), white (its maximum), mean, a number, or (faithfulness and monotonicity correlation) uniform or uniform:LOW,HIGH, a uniform draw per perturbation (monotonicity correlation's default) (Quantus perturb_baseline).") var fill: String?
    @Option(name: .customLong("runs"), help: "Faithfulness correlation: random subsets per sample (Quantus nr_runs).") var subsetRuns: Int = 100
    @Option(help: "Faithfulness correlation: features per random subset (Quantus subset_size).") var subset: Int = 224
    @Option(help: "Monotonicity correlation, non-sensitivity: threshold of an unchanged output (and, non-sensitivity, of a zero attribution).") var eps: Double = 1e-5
    @Option(help: "Local Lipschitz estimate: standard deviation of the Gaussian perturbations.") var std: Double = 0.1
    @Option(name: .customLong("noise-range"), help: "Relative input / output / representation stability: LOW,HIGH of the uniform noise added to every element.") var noiseRange: String = "0.02,0.2"
    @Option(help: "Continuity: number of sideways shifts (Quantus nr_steps).") var shifts: Int = 28
    @Option(help: "Relative representation stability: the node (layer) whose output is compared.") var layer: String?
    @Option(help: "IROF: about this many scikit-image SLIC superpixels per image (n_segments).") var slic: Int = 100
    @Option(help: "IROF: SLIC compactness (scikit-image's).") var compactness: Double = 10
    @Option(help: "Sufficiency: largest distance of close explanations, as a share of the batch's largest.") var threshold: Double = 0.6
    @Option(help: "Selectivity, region perturbation: side of the square patches.") var patch: Int = 8
    @Option(help: "Region perturbation: morf (most relevant first) or lerf.") var order: String = "morf"
    @Option(help: "Selectivity, region perturbation: patches replaced (default: all for selectivity, 100 for region perturbation).") var regions: Int?
    @Option(help: "ROAD: comma-separated percentiles of the map above which pixels are removed (MoRF; LeRF: of one minus the map).") var percentiles: String = "10,20,30,40,50,60,70,80,90"
    @Option(help: "ROAD: standard deviation of the noise added to imputed pixels (pytorch-grad-cam: 0.01; 0 for none).") var noise: Double = 0.01
    @Option(name: .customLong("map-scale"), help: "Confidence: minmax (each map scaled to [0, 1], as pytorch-grad-cam's CAMs) or none.") var mapScale: String = "minmax"
    @Flag(help: "Print one JSON object instead of text.") var json = false

    /// `--seed`, or `fallback` when it is not given; a seed must be 0…2³² − 1.
    func seedValue(_ fallback: Int = 0) throws -> UInt64 {
        let value = seed ?? fallback
        guard value >= 0, value <= Int(UInt32.max) else { throw ExplainError(.invalidArgument, "--seed \(value): give 0…4294967295") }
        return UInt64(value)
    }

    /// Prints `object` as JSON when `--json` is given; otherwise runs `text`.
    func report(_ object: [String: Any], text: () -> Void) throws {
        guard json else { return text() }
        var all = object
        all["method"] = method
        all["metric"] = metric
        let data = try JSONSerialization.data(withJSONObject: all, options: [.prettyPrinted, .sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }

    func run() throws {
        try reportingErrors {
            let registry = try registry()
            let options = try parseOptions(settings)
            let x = try Numpy.readTensor(path: input)
            let selection = try parseTarget(target)
            // Bound inputs with one row per sample: each run of samples with equal rows is
            // evaluated with a model imported for them (one report per run, samples numbered within it).
            let bound = SampleBindings(try parseBindings(bindings), batch: x.shape.first ?? 0)
            let runs = try bound.groups()
            for run in runs {
                var o = ImportOptions()
                o.bind = try bound.bind(for: run)
                let explainable = try explainable(try ONNXImporter.load(path: model, options: o), outputNode: outputNode)
                let whole = run.count == (x.shape.first ?? 0)
                if runs.count > 1 && !json { print("samples \(run.lowerBound)…\(run.upperBound - 1) (their bound rows):") }
                try evaluate(registry: registry, options: options, explainable: explainable, x: whole ? x : try x.samples(run),
                             selection: whole ? selection : try selection.samples(run, of: x.shape[0]), run: whole ? nil : (run, x.shape[0]))
            }
        }
    }

    /// `--baseline`; a file with one row per sample of the whole batch gives the rows of `run`.
    func baselineValue(_ run: (Range<Int>, Int)?) throws -> Baseline {
        guard baseline.hasPrefix("file:") else { return try Baseline.parse(baseline) }
        return .tensor(try rows(try Numpy.readTensor(path: String(baseline.dropFirst(5))), run))
    }

    /// The rows of `run` of a per-sample array of the whole batch (others as they are).
    func rows(_ t: Tensor, _ run: (Range<Int>, Int)?) throws -> Tensor {
        guard let (range, n) = run, t.rank >= 1, t.shape[0] == n else { return t }
        return try t.samples(range)
    }

    /// One evaluation of `method` by `metric` on a batch (`run`: the samples of the whole batch it
    /// holds, when the batch runs in parts).
    func evaluate(registry: Registry, options: Options, explainable: ExplainableModel, x: Tensor, selection: Target,
                  run: (Range<Int>, Int)? = nil) throws {
        let first = run?.0.lowerBound ?? 0   // printed sample numbers count in the whole batch
        // With the batch in runs, each JSON object names its samples.
        func report(_ object: [String: Any], text: () -> Void) throws {
            var o = object
            if let (range, _) = run { o["samples"] = [range.lowerBound, range.upperBound - 1] }
            try self.report(o, text: text)
        }
        switch metric {
        case "pixel_flipping":
            let a = try registry.makeAnalyzer(method, model: explainable, options: options).analyze(x, target: selection)
            let fixed = a.sameTargets(or: selection)
            let x0 = try baselineValue(run)
            var results: [PixelFlipping.Order: PixelFlipping.Result] = [:]
            for order in PixelFlipping.Order.allCases {
                let flip = try PixelFlipping(steps: steps, region: region, fraction: fraction, order: order, baseline: x0)
                results[order] = try flip.evaluate(model: explainable, input: x, attribution: a.values, target: fixed)
            }
            func mean(_ r: PixelFlipping.Result) -> [Double] { (0...steps).map { j in r.curves.reduce(0.0) { $0 + $1[j] } / Double(r.curves.count) } }
            try report(Dictionary(uniqueKeysWithValues: PixelFlipping.Order.allCases.map { o in
                (o.rawValue, ["aopc": results[o]?.aopc ?? [], "curves": results[o]?.curves ?? []] as [String: Any])
            }).merging(["steps": steps, "region": region, "fraction": fraction]) { $1 }) {
                print("\(method): pixel flipping, \(steps) steps, regions \(region)×\(region), \(Int(fraction * 100)) % replaced by the end")
                for order in PixelFlipping.Order.allCases {
                    guard let r = results[order] else { continue }
                    print("\(order.rawValue.uppercased()) mean curve: " + mean(r).map { String(format: "%.4g", $0) }.joined(separator: " "))
                }
                for s in 0..<x.shape[0] {
                    print(String(format: "sample %d: AOPC MoRF %.5g, LeRF %.5g", first + s, results[.morf]?.aopc[s] ?? .nan, results[.lerf]?.aopc[s] ?? .nan))
                }
                print("(a good explanation has a large MoRF AOPC and a small LeRF AOPC)")
            }
        case "randomisation":
            guard let mode = ModelRandomisation.Mode(rawValue: mode) else {
                throw ExplainError(.invalidArgument, "--mode \(self.mode): use cascading or independent")
            }
            let check = try ModelRandomisation(mode: mode, seed: try seedValue(), hog: try HOG(cell: hogCell))
            let (_, steps) = try check.run(model: explainable, input: x, target: selection) {
                try registry.makeAnalyzer(method, model: $0, options: options)
            }
            try report(["mode": mode.rawValue, "steps": steps.map { step -> [String: Any] in
                var entry: [String: Any] = ["layer": step.layer, "spearman": step.spearman, "spearman_abs": step.spearmanAbsolute]
                if let ssim = step.ssim { entry["ssim"] = ssim }
                if let hog = step.hog { entry["hog"] = hog }
                return entry
            }]) {
                let width = max(20, steps.map(\.layer.count).max() ?? 0)
                print("\(method): model randomisation (\(mode.rawValue)), similarity to the original explanation (Spearman: signed and of |value|; SSIM and HOG correlation of the scaled maps), mean over samples")
                func mean(_ v: [Double]) -> Double { v.reduce(0, +) / Double(max(v.count, 1)) }
                print("layer".padding(toLength: width, withPad: " ", startingAt: 0) + "  signed   |value|  SSIM     HOG")
                for step in steps {
                    let ssim = step.ssim.map { String(format: "  %6.3f", mean($0)) } ?? "       —"
                    let hog = step.hog.map { String(format: "   %6.3f", mean($0)) } ?? "        —"
                    print(step.layer.padding(toLength: width, withPad: " ", startingAt: 0)
                          + String(format: "  %6.3f   %6.3f", mean(step.spearman), mean(step.spearmanAbsolute)) + ssim + hog)
                }
                print("(a method that explains the model should lose its correlation as layers are randomised)")
            }
        case "infidelity":
            let a = try registry.makeAnalyzer(method, model: explainable, options: options).analyze(x, target: selection)
            let fixed = a.sameTargets(or: selection)
            let values = try Infidelity(samples: samples ?? 10, sigma: sigma, seed: try seedValue())
                .evaluate(model: explainable, input: x, attribution: a.values, target: fixed)
            try report(["infidelity": values, "samples": samples ?? 10, "sigma": sigma]) {
                print("\(method): infidelity, \(samples ?? 10) Gaussian perturbations with σ = \(sigma) (lower is better)")
                for (s, v) in values.enumerated() { print(String(format: "sample %d: %.6g", first + s, v)) }
            }
        case "sensitivity":
            let analyzer = try registry.makeAnalyzer(method, model: explainable, options: options)
            let (values, means) = try SensitivityMax(samples: samples ?? 10, radius: radius, seed: try seedValue())
                .evaluateBoth(analyzer, input: x, target: selection)
            try report(["sensitivity": values, "avg_sensitivity": means, "samples": samples ?? 10, "radius": radius]) {
                print("\(method): max-sensitivity (and avg-sensitivity), \(samples ?? 10) uniform perturbations of radius \(radius) (lower is more robust)")
                for (s, v) in values.enumerated() { print(String(format: "sample %d: %.6g  (avg %.6g)", first + s, v, means[s])) }
            }
        case "sparseness", "complexity", "effective_complexity":
            let a = try registry.makeAnalyzer(method, model: explainable, options: options).analyze(x, target: selection)
            let scores: [Double] = switch metric {
            case "sparseness": try ComplexityMetrics.sparseness(a.values)
            case "complexity": try ComplexityMetrics.complexity(a.values)
            default: try ComplexityMetrics.effectiveComplexity(a.values).map(Double.init)
            }
            try report(["scores": scores]) {
                let meaning = ["sparseness": "Gini index of |a| (higher: sparser)", "complexity": "entropy of |a| / Σ|a| (lower: simpler)",
                               "effective_complexity": "features with |a| / max|a| > 1e-5"][metric] ?? ""
                print("\(method): \(metric), \(meaning)")
                for (s, v) in scores.enumerated() { print(String(format: "sample %d  %.6g", first + s, v)) }
            }
        case "localisation":
            guard let maskPath = mask else { throw ExplainError(.invalidArgument, "--metric localisation needs --mask M.npy (non-zero: the object)") }
            let a = try registry.makeAnalyzer(method, model: explainable, options: options).analyze(x, target: selection)
            let r = try Localisation.evaluate(attribution: a.values, mask: try rows(try Numpy.readTensor(path: maskPath), run), k: topK)
            try report(["pointing_game": r.pointingGame, "relevance_mass_accuracy": r.massAccuracy, "relevance_rank_accuracy": r.rankAccuracy,
                        "top_k_intersection": r.topKIntersection, "auc": r.auc, "attribution_localisation": r.attributionLocalisation, "k": topK]) {
                print("\(method): localisation against the mask (pointing game, relevance mass / rank accuracy, top-\(topK) intersection, ROC AUC, attribution localisation; 1 is best)")
                for s in r.auc.indices {
                    print(String(format: "sample %d  pointing %.0f  mass %.4f  rank %.4f  top-k %.4f  auc %.4f  attribution %.4f", first + s, r.pointingGame[s],
                                 r.massAccuracy[s], r.rankAccuracy[s], r.topKIntersection[s], r.auc[s], r.attributionLocalisation[s]))
                }
            }
        case "focus":
            guard let path = quadrants else { throw ExplainError(.invalidArgument, "--metric focus needs --quadrants Q.npy (N, 4): per mosaic, which quadrants (top left, top right, bottom left, bottom right) show the target class") }
            let a = try registry.makeAnalyzer(method, model: explainable, options: options).analyze(x, target: selection)
            let scores = try Localisation.focus(attribution: a.values, quadrants: try rows(try Numpy.readTensor(path: path), run))
            try report(["scores": scores]) {
                print("\(method): focus, share of the positive relevance in the quadrants of the target class (1 is best)")
                for (s, v) in scores.enumerated() { print(String(format: "sample %d  %.6g", first + s, v)) }
            }
        case "sensitivity_n":
            let a = try registry.makeAnalyzer(method, model: explainable, options: options).analyze(x, target: selection)
            let list = try sizes.map { text in
                try text.split(separator: ",").map { part -> Int in
                    guard let v = Int(part.trimmingCharacters(in: .whitespaces)) else {
                        throw ExplainError(.invalidArgument, "--sizes: '\(part)' is not an integer")
                    }
                    return v
                }
            }
            let metric = try SensitivityN(sizes: list, subsets: subsets, region: region, baseline: try baselineValue(run), seed: try seedValue())
            let r = try metric.evaluate(model: explainable, input: x, attribution: a.values, target: a.sameTargets(or: selection))
            try report(["sizes": r.sizes, "correlations": r.correlations, "subsets": subsets, "region": region]) {
                print("\(method): sensitivity-n, \(subsets) random subsets of n regions (\(region)×\(region)) per n; Pearson correlation of Σ attribution and the output drop (1 is best)")
                print("n        " + r.sizes.map { String($0).padding(toLength: 8, withPad: " ", startingAt: 0) }.joined())
                for (s, row) in r.correlations.enumerated() {
                    print("sample \(first + s) " + row.map { String(format: "%-8.3f", $0) }.joined())
                }
            }
        case "confidence":
            let a = try registry.makeAnalyzer(method, model: explainable, options: options).analyze(x, target: selection)
            try confidence(model: explainable, input: x, attribution: a.values, target: a.sameTargets(or: selection), first: first, report: report)
        case "road":
            let a = try registry.makeAnalyzer(method, model: explainable, options: options).analyze(x, target: selection)
            try road(model: explainable, input: x, attribution: a.values, target: a.sameTargets(or: selection), first: first, report: report)
        case "local_lipschitz_estimate", "relative_input_stability", "relative_output_stability", "relative_representation_stability", "continuity", "random_logit":
            try stability(registry: registry, options: options, model: explainable, input: x, target: selection, first: first, report: report)
        case "faithfulness_estimate", "monotonicity", "selectivity", "region_perturbation", "faithfulness_correlation",
             "monotonicity_correlation", "non_sensitivity", "sufficiency", "irof":
            let a = try registry.makeAnalyzer(method, model: explainable, options: options).analyze(x, target: selection)
            try faithfulness(model: explainable, input: x, attribution: a.values, target: a.sameTargets(or: selection), run: run?.0)
        default:
            throw ExplainError(.invalidArgument, "--metric \(metric): use pixel_flipping, faithfulness_estimate, faithfulness_correlation, monotonicity, monotonicity_correlation, selectivity, region_perturbation, irof, non_sensitivity, sufficiency, randomisation, random_logit, local_lipschitz_estimate, relative_input_stability, relative_output_stability, relative_representation_stability, continuity, infidelity, sensitivity, sensitivity_n, sparseness, complexity, effective_complexity, localisation, focus, road or confidence")
        }
    }
}
