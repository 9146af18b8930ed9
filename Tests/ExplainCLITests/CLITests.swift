import ExplainKit
import ExplainTestSupport
import Foundation
import Testing

/// End-to-end runs of the `explain` executable built next to the tests.
@Suite struct CLITests {
    /// The `explain` binary of the same build configuration as the test bundle.
    static var binary: String? {
        let candidates = [Bundle.main.bundleURL, URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()]
        for base in candidates {
            var dir = base
            for _ in 0..<3 {
                let path = dir.appendingPathComponent("explain").path
                if FileManager.default.isExecutableFile(atPath: path) { return path }
                dir.deleteLastPathComponent()
            }
        }
        return nil
    }

    struct Run { var status: Int32; var out: String; var err: String }

    func run(_ args: [String]) throws -> Run {
        let exe = try #require(Self.binary, "explain binary not found next to the tests; build with --build-tests")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        p.currentDirectoryURL = URL(fileURLWithPath: TestPaths.root)
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Run(status: p.terminationStatus, out: String(decoding: o, as: UTF8.self), err: String(decoding: e, as: UTF8.self))
    }

    let model = "Tests/Fixtures/reference/digits-cnn/model.onnx"
    let input = "Tests/Fixtures/reference/digits-cnn/input.npy"

    @Test func predictWritesTheOutputAndPrintsTopClasses() throws {
        let path = NSTemporaryDirectory() + "explainkit-predict-\(UUID().uuidString).npy"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let r = try run(["predict", model, "--input", input, "--output", path, "--top", "2"])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains("sample 3:"))
        let written = try Numpy.readTensor(path: path)
        let expected = try Numpy.readTensor(path: TestPaths.reference + "/digits-cnn/logits.npy")
        #expect(Deviation(written, expected).maxAbs < 5e-4)
        // The printed top class of each sample is the arg-max of the reference logits.
        for s in 0..<4 {
            let row = Array(expected.scalars[(s * 10)..<((s + 1) * 10)])
            let best = row.indices.max { row[$0] < row[$1] }!
            #expect(r.out.contains("sample \(s): \(best) ("))
        }
    }

    @Test func inspectListsNodesShapesAndParameters() throws {
        let r = try run(["inspect", model])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains("/conv1/Conv"))
        #expect(r.out.contains("(1, 10)"))
        let imported = try ONNXImporter.load(path: TestPaths.root + "/" + model)
        #expect(r.out.contains("parameters: \(imported.graph.parameterCount)"))
        #expect(r.out.contains("default feature map (CAM, layer methods): '/relu3/Relu_output_0'"))
    }

    @Test func benchPrintsJSON() throws {
        let r = try run(["bench", "--model", model, "--input-shape", "1,16,16", "--batch", "2", "--runs", "2", "--json"])
        #expect(r.status == 0, "\(r.err)")
        let array = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [[String: Any]]
        let first = try #require(array?.first)
        #expect(first["method"] as? String == "forward")
        #expect(first["batch"] as? Int == 2)
        for key in ["median_s", "min_s", "max_s"] { #expect((first[key] as? Double ?? -1) > 0) }
    }

    /// Rounds interleave the methods; each non-forward method reports its median ratio to the forward.
    @Test func benchReportsRatiosAndTakesAConvAlgorithm() throws {
        let r = try run(["bench", "--model", model, "--input-shape", "1,16,16", "--runs", "3", "--methods", "forward,gradient",
                         "--conv-algorithm", "winograd", "--json"])
        #expect(r.status == 0, "\(r.err)")
        let array = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [[String: Any]])
        #expect(array.count == 2)
        #expect(array[0]["ratio_to_forward"] == nil)
        #expect((array[1]["ratio_to_forward"] as? Double ?? 0) > 0)
        #expect(array[1]["runs"] as? Int == 3)
        // --set values reach every method that takes them, a wrapped base analyzer's included.
        let wrapped = try run(["bench", "--model", model, "--input-shape", "1,16,16", "--runs", "1", "--methods",
                               "forward,smoothgrad,lrp.epsilon_gamma_box", "--set", "base=lrp.epsilon_gamma_box",
                               "--set", "low=-1", "--set", "high=2", "--set", "samples=2"])
        #expect(wrapped.status == 0, "\(wrapped.err)")
        let bad = try run(["bench", "--model", model, "--input-shape", "1,16,16", "--conv-algorithm", "fft"])
        #expect(bad.status == 1)
        #expect(bad.err.contains("im2col") && bad.err.contains("winograd"))
    }

    @Test func conformanceCommandPassesAndCloses() throws {
        let out = NSTemporaryDirectory() + "explainkit-conf-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: out) }
        let r = try run(["conformance", "Tests/Fixtures/reference", "--out", out])
        #expect(r.status == 0, "\(r.err)")
        let last = r.out.split(separator: "\n").last.map(String.init) ?? ""
        #expect(last.hasSuffix("skipped") && last.contains(" passed, 0 failed, "), "\(last)")
        for id in ["gradient", "saliency", "input_x_gradient", "guided_backprop", "deconvnet"] {
            for model in ["digits-cnn", "digits-resnet", "cancer-mlp"] {
                #expect(r.out.contains("PASS  \(model)/\(id) "), "\(model)/\(id)")
            }
        }
    }

    @Test func attributeListDescribe() throws {
        let path = NSTemporaryDirectory() + "explainkit-attr-\(UUID().uuidString).npy"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let r = try run(["attribute", model, "--input", input, "--method", "input_t_gradient", "--target", "3", "--output", path])
        #expect(r.status == 0, "\(r.err)")
        #expect(try Numpy.readTensor(path: path).shape == [4, 1, 16, 16])
        #expect(r.out.contains("sample 0: target 3"))
        // The same with every 3×3 layer forced to Winograd.
        let forced = path + ".winograd.npy"
        defer { try? FileManager.default.removeItem(atPath: forced) }
        let w = try run(["attribute", model, "--input", input, "--method", "input_t_gradient", "--target", "3", "--output", forced,
                         "--conv-algorithm", "winograd"])
        #expect(w.status == 0, "\(w.err)")
        #expect(Deviation(try Numpy.readTensor(path: forced), try Numpy.readTensor(path: path)).relL2 < 1e-5)
        let list = try run(["list"])
        #expect(list.status == 0)
        // Every registered id, whole (the longest are 29 characters), followed by a space.
        var registry = Registry()
        for plugin in defaultPlugins() { try plugin.register(into: &registry) }
        let ids = Array(registry.analyzers.keys) + Array(registry.rules.keys) + Array(registry.presets.keys)
        #expect(ids.contains("lrp.epsilon_alpha2_beta1_flat") && ids.count > 40)
        for id in ids { #expect(list.out.contains("  \(id) "), "\(id)") }
        let describe = try run(["describe", "smoothgrad"])
        #expect(describe.out.contains("noise_level=0.1"))
        let unknown = try run(["attribute", model, "--input", input, "--method", "gradeint"])
        #expect(unknown.status == 1)
        #expect(unknown.err.contains("did you mean 'gradient'?"))
        let badSet = try run(["attribute", model, "--input", input, "--method", "smoothgrad", "--set", "noise_level=abc"])
        #expect(badSet.status == 1)
        #expect(badSet.err.contains("noise_level"))
        let badTarget = try run(["attribute", model, "--input", input, "--method", "gradient", "--target", "12"])
        #expect(badTarget.status == 1)
        let wrongShape = try run(["attribute", model, "--input", "Tests/Fixtures/reference/cancer-mlp/input.npy", "--method", "gradient"])
        #expect(wrongShape.status == 1)
        #expect(wrongShape.err.contains("shape"))
        let inner = try run(["attribute", model, "--input", input, "--method", "gradient", "--output-node", "/relu3/Relu", "--target", "all"])
        #expect(inner.status == 0, "\(inner.err)")
    }

    /// `attribute --json`: one parseable object with the per-sample sums, targets, the delta under its
    /// name, kept nodes and the written files.
    @Test func attributeJSON() throws {
        let out = NSTemporaryDirectory() + "explainkit-json-\(UUID().uuidString).npy"
        defer { try? FileManager.default.removeItem(atPath: out) }
        let r = try run(["attribute", model, "--input", input, "--method", "lrp.epsilon_plus", "--keep", "/relu3/Relu", "--output", out, "--json"])
        #expect(r.status == 0, "\(r.err)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
        #expect((object["sums"] as? [Double])?.count == 4 && (object["targets"] as? [Int])?.count == 4)
        #expect((object["conservation"] as? [Double])?.count == 4 && object["completeness"] == nil)
        #expect((object["files"] as? [String: String])?["attribution"] == out)
        #expect(((object["kept"] as? [String: Any])?["/relu3/Relu"] as? [String: Any])?["shape"] as? [Int] == [4, 16, 8, 8])
        let ig = try run(["attribute", model, "--input", input, "--method", "integrated_gradients", "--set", "steps=4", "--json"])
        let igObject = try #require(try JSONSerialization.jsonObject(with: Data(ig.out.utf8)) as? [String: Any])
        #expect((igObject["completeness"] as? [Double])?.count == 4)
    }

    @Test func demoWritesGridAndReport() throws {
        let out = NSTemporaryDirectory() + "explainkit-demo-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: out) }
        let r = try run(["demo", "--methods", "gradient,input_t_gradient", "--out", out])
        #expect(r.status == 0, "\(r.err)")
        let grid = try Image.read(path: out + "/grid.png")
        #expect(grid.width > 3 * 96 && grid.height > 8 * 96)   // 8 digits × (input, gradient, input_t_gradient)
        let html = try String(contentsOfFile: out + "/report.html", encoding: .utf8)
        #expect(html.contains("data:image/png;base64,"))
        #expect(html.contains("<code>gradient</code>") && html.contains("<code>input_t_gradient</code>"))
        #expect(html.contains("explain demo --methods gradient,input_t_gradient"))
        #expect(r.out.contains("wrote"))
        // More methods than images: one row per method, one column per image.
        let many = "gradient,saliency,input_t_gradient,deconvnet,guided_backprop,lrp.z,lrp.epsilon,lrp.flat,gradcam,layer_activation"
        let tall = try run(["demo", "--methods", many, "--out", out + "/tall", "--cell", "32"])
        #expect(tall.status == 0, "\(tall.err)")
        let transposed = try Image.read(path: out + "/tall/grid.png")
        #expect(transposed.height > 11 * 32 && transposed.width < 11 * 32 + 200)   // 11 rows (input + 10 methods), 8 image columns
        let missing = try run(["demo", "--example", out + "/nope", "--out", out])
        #expect(missing.status == 1 && missing.err.contains("--example"))
    }

    @Test func heatmapCommand() throws {
        let path = NSTemporaryDirectory() + "explainkit-heat-\(UUID().uuidString).png"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let r = try run(["heatmap", "Examples/digits/model.onnx", "--image", "Examples/digits/digit_3.png",
                         "--preprocess", "Examples/digits/preprocess.json", "--method", "lrp.epsilon_plus_flat",
                         "--overlay", "--output", path])
        #expect(r.status == 0, "\(r.err)")
        let img = try Image.read(path: path)
        #expect(img.width == 16 && img.height == 16 && img.channels == 3)
        // The same spec given as options.
        let spec = try Preprocessing.load(path: TestPaths.root + "/Examples/digits/preprocess.json")
        let path2 = path + ".2.png"
        defer { try? FileManager.default.removeItem(atPath: path2) }
        let viaOptions = try run(["heatmap", "Examples/digits/model.onnx", "--image", "Examples/digits/digit_3.png", "--grayscale",
                                  "--resize", "16,16", "--mean", "\(spec.mean![0])", "--std", "\(spec.std![0])",
                                  "--method", "lrp.epsilon_plus_flat", "--overlay", "--output", path2])
        #expect(viaOptions.status == 0, "\(viaOptions.err)")
        #expect(try Image.read(path: path2) == img)
        let bad = try run(["heatmap", "Examples/digits/model.onnx", "--image", "Examples/digits/labels.json", "--method", "gradient", "--output", path])
        #expect(bad.status == 1)
        #expect(bad.err.contains("labels.json"))
        let jpeg = try run(["heatmap", "Examples/digits/model.onnx", "--image", "Examples/digits/digit_3.png", "--method", "gradient",
                            "--output", path + ".jpg"])
        #expect(jpeg.status == 1 && jpeg.err.contains("PNG") && !FileManager.default.fileExists(atPath: path + ".jpg"))
        let colormap = try run(["heatmap", "Examples/digits/model.onnx", "--image", "Examples/digits/digit_3.png", "--method", "gradient",
                                "--colormap", "jett", "--output", path])
        #expect(colormap.status == 1 && colormap.err.contains("viridis"))
    }

    @Test func badInputsGiveNamedErrors() throws {
        let missing = try run(["predict", "nope.onnx", "--input", input])
        #expect(missing.status == 1)
        #expect(missing.err.contains("nope.onnx"))
        let wrongShape = try run(["predict", model, "--input", "Tests/Fixtures/reference/cancer-mlp/input.npy"])
        #expect(wrongShape.status == 1)
        #expect(wrongShape.err.contains("shape"))
        let wrongType = try run(["predict", model, "--input", "Tests/Fixtures/arrays/c8.npy"])
        #expect(wrongType.status == 1)
        #expect(wrongType.err.contains("c8.npy"))
        let unknown = try run(["bench", "--arch", "vgg16", "--methods", "nope", "--runs", "1"])
        #expect(unknown.status == 1)
        #expect(unknown.err.contains("forward"))
        let badShape = try run(["inspect", model, "--input-shape", "1,x"])
        #expect(badShape.status == 1)
        // A negative target is read as the option's value (not as an option) and named.
        let negative = try run(["attribute", model, "--input", input, "--method", "gradient", "--target", "-1"])
        #expect(negative.status == 1)
        #expect(negative.err.contains("target index -1"))
    }

    /// `--rule` entries over a `--preset`, and `--keep`: the relevance at the named nodes is printed
    /// (Σ per sample) and written next to `--output`; an unknown node is a named error.
    @Test func attributeWithRulesKeepsNodes() throws {
        let dir = NSTemporaryDirectory() + "explainkit-keep-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let args = ["attribute", model, "--input", input, "--rule", "first=zbox:-1,1", "--rule", "dense=epsilon:0.1",
                    "--preset", "lrp.epsilon_plus", "--keep", "/conv2/Conv"]
        let printed = try run(args)
        #expect(printed.status == 0, "\(printed.err)")
        #expect(printed.out.contains("kept /conv2/Conv (4, 16, 16, 16): Σ per sample "), "\(printed.out)")
        let written = try run(args + ["--output", dir + "/r.npy"])
        #expect(written.status == 0, "\(written.err)")
        #expect(try Numpy.readTensor(path: dir + "/r._conv2_Conv.npy").shape == [4, 16, 16, 16])
        let unknown = try run(args.dropLast() + ["nosuch"])
        #expect(unknown.status == 1)
        #expect(unknown.err.contains("nosuch") && unknown.err.contains("/conv2/Conv"))
    }

    /// The newer families from the command line: a file given with `--set key=file:…` (feature
    /// groups) reproduces the fixture; reference methods print the completeness gap; `evaluate`
    /// prints AOPC per sample and the randomisation table; bad metrics and unloadable files are
    /// named errors.
    @Test func fileOptionsReferenceMethodsAndEvaluate() throws {
        let dir = NSTemporaryDirectory() + "explainkit-eval-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fixture = "Tests/Fixtures/reference/digits-cnn"
        let ablation = try run(["attribute", model, "--input", input, "--method", "feature_ablation", "--set", "groups=file:\(fixture)/feature_mask.npy",
                                "--target", "file:\(fixture)/targets.npy", "--output", dir + "/fa.npy"])
        #expect(ablation.status == 0, "\(ablation.err)")
        let mine = try Numpy.readTensor(path: dir + "/fa.npy"), reference = try Numpy.readTensor(path: fixture + "/feature_ablation.npy")
        #expect(Deviation(mine, reference).relL2 < 1e-5)
        let deeplift = try run(["attribute", model, "--input", input, "--method", "deeplift"])
        #expect(deeplift.status == 0 && deeplift.out.contains("completeness: Σ attribution − (f(x) − f(x0)) per sample:"), "\(deeplift.out)")
        let flip = try run(["evaluate", model, "--input", input, "--method", "gradient", "--steps", "4", "--region", "4"])
        #expect(flip.status == 0, "\(flip.err)")
        #expect(flip.out.components(separatedBy: "AOPC MoRF").count == 5 && flip.out.contains("LERF mean curve:"))
        let sanity = try run(["evaluate", model, "--input", input, "--method", "gradient", "--metric", "randomisation"])
        #expect(sanity.status == 0 && sanity.out.contains("/conv1/Conv") && sanity.out.contains("signed"), "\(sanity.out)")
        let json = try run(["evaluate", model, "--input", input, "--method", "gradient", "--metric", "infidelity", "--samples", "2", "--json"])
        let object = try JSONSerialization.jsonObject(with: Data(json.out.utf8)) as? [String: Any]
        #expect((object?["infidelity"] as? [Double])?.count == 4 && object?["metric"] as? String == "infidelity", "\(json.out)")
        let selectivity = try run(["evaluate", model, "--input", input, "--method", "gradient", "--metric", "selectivity", "--patch", "4", "--json"])
        let curves = (try JSONSerialization.jsonObject(with: Data(selectivity.out.utf8)) as? [String: Any])?["curves"] as? [[Double]]
        #expect(curves?.count == 4 && curves?.allSatisfy { $0.count == 16 } == true, "\(selectivity.out)\(selectivity.err)")
        let badFill = try run(["evaluate", model, "--input", input, "--method", "gradient", "--metric", "faithfulness_estimate", "--fill", "grey"])
        #expect(badFill.status == 1 && badFill.err.contains("black"))
        let badMetric = try run(["evaluate", model, "--input", input, "--method", "gradient", "--metric", "nope"])
        #expect(badMetric.status == 1 && badMetric.err.contains("pixel_flipping"))
        let missing = try run(["attribute", model, "--input", input, "--method", "feature_ablation", "--set", "groups=file:nope.npy"])
        #expect(missing.status == 1 && missing.err.contains("nope.npy"))
    }

    /// `--bind` with one row per sample (sentences of different lengths): `attribute` reproduces
    /// Captum's Layer IG of the fixture and says how the batch ran; `predict` gives PyTorch's
    /// logits; `evaluate` reports each run of samples (samples numbered in the whole batch, one
    /// JSON object per run); `tcav` takes one row only and says which commands take more.
    @Test func bindingOneRowPerSample() throws {
        let dir = "Tests/Fixtures/text/bert-tiny-padded"
        let out = NSTemporaryDirectory() + "explainkit-bind-\(UUID().uuidString).npy"
        defer { try? FileManager.default.removeItem(atPath: out) }
        let bind = ["--bind", "attention_mask=file:\(dir)/attention_mask.npy", "--bind", "token_type_ids=file:\(dir)/token_type_ids.npy"]
        let r = try run(["attribute", dir + "/model.onnx", "--input", dir + "/input.npy", "--method", "layer_integrated_gradients",
                         "--set", "layer=/m/bert/embeddings/word_embeddings/Gather_output_0", "--target", "file:\(dir)/targets.npy",
                         "--output", out] + bind)
        #expect(r.status == 0 && r.out.contains("3 runs of samples"), "\(r.out)\(r.err)")
        #expect(Deviation(try Numpy.readTensor(path: out), try Numpy.readTensor(path: dir + "/layer_integrated_gradients_word_embeddings.npy")).relL2 < 1e-5)
        let p = try run(["predict", dir + "/model.onnx", "--input", dir + "/input.npy", "--output", out, "--top", "0"] + bind)
        #expect(p.status == 0, "\(p.err)")
        #expect(Deviation(try Numpy.readTensor(path: out), try Numpy.readTensor(path: dir + "/logits.npy")).maxAbs < 1e-6)
        let e = try run(["evaluate", dir + "/model.onnx", "--input", dir + "/input.npy", "--method", "layer_activation", "--metric", "sparseness"] + bind)
        #expect(e.status == 0 && e.out.contains("samples 2…2") && e.out.contains("sample 2  "), "\(e.out)\(e.err)")
        let one = try run(["evaluate", dir + "/model.onnx", "--input", dir + "/input.npy", "--method", "layer_activation", "--metric", "sparseness",
                           "--json"] + bind)
        #expect(one.status == 0 && one.out.components(separatedBy: "\"samples\"").count == 4, "\(one.out)")
        let t = try run(["tcav", dir + "/model.onnx", "--input", dir + "/input.npy", "--concept", "a=\(dir)/input.npy", "--random", dir + "/input.npy"] + bind)
        #expect(t.status == 1 && t.err.contains("one row per sample is taken by"), "\(t.err)")
    }

    /// `explain tcav` prints one score line per concept and random set (the scores are checked
    /// against Captum in TCAVTests) and names a malformed `--concept`.
    @Test func tcavPrintsScoresPerConceptAndRandomSet() throws {
        let archive = try NumpyArchive.read(path: TestPaths.arrays + "/tcav_cases.npz")
        let dir = NSTemporaryDirectory() + "explainkit-tcav-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for k in ["inputs", "concept_bar", "random_0", "random_1"] {
            try Numpy.write(try #require(archive[k]).tensor(), path: "\(dir)/\(k).npy")
        }
        let r = try run(["tcav", model, "--input", "\(dir)/inputs.npy", "--concept", "bar=\(dir)/concept_bar.npy",
                         "--random", "\(dir)/random_0.npy", "--random", "\(dir)/random_1.npy", "--layer", "/conv3/Conv", "--target", "6"])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains("sign_count 0.9375") && r.out.contains("over 2 random sets"), "\(r.out)")
        let bad = try run(["tcav", model, "--input", "\(dir)/inputs.npy", "--concept", "bar", "--random", "\(dir)/random_0.npy"])
        #expect(bad.status == 1 && bad.err.contains("NAME=FILE.npy"))
    }
}
