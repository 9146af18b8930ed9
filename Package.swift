// swift-tools-version:6.2
import PackageDescription

let package = Package(
    name: "ExplainKit",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "ExplainKit", targets: ["ExplainKit"]),
        .executable(name: "explain", targets: ["ExplainCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-protobuf", exact: "1.39.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // Core: tensor engine, layers, graph, executor.
        .systemLibrary(
            name: "COpenBLAS",
            path: "Sources/Core/COpenBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        .target(name: "CExplainSupport", path: "Sources/Core/CSupport"),
        .target(name: "ExplainCore", dependencies: ["COpenBLAS", "CExplainSupport"], path: "Sources/Core/ExplainCore"),

        // Method families: each depends on Core only.
        .target(name: "ExplainGradient", dependencies: ["ExplainCore"], path: "Sources/Analyzers/Gradient"),
        .target(name: "ExplainSignal", dependencies: ["ExplainCore"], path: "Sources/Analyzers/Signal"),
        .target(name: "ExplainRelevance", dependencies: ["ExplainCore"], path: "Sources/Analyzers/Relevance"),
        .target(name: "ExplainReference", dependencies: ["ExplainCore"], path: "Sources/Analyzers/Reference"),
        .target(name: "ExplainCAM", dependencies: ["ExplainCore"], path: "Sources/Analyzers/CAM"),
        .target(name: "ExplainPerturbation", dependencies: ["ExplainCore"], path: "Sources/Analyzers/Perturbation"),
        .target(name: "ExplainLayer", dependencies: ["ExplainCore"], path: "Sources/Analyzers/Layer"),
        .target(name: "ExplainConcept", dependencies: ["ExplainCore"], path: "Sources/Analyzers/Concept"),

        // Plugins.
        .target(
            name: "ExplainONNX",
            dependencies: ["ExplainCore", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            path: "Sources/Plugins/ONNX"
        ),
        .target(name: "ExplainArrays", dependencies: ["ExplainCore"], path: "Sources/Plugins/Arrays"),
        .target(name: "ExplainEvaluation", dependencies: ["ExplainCore"], path: "Sources/Plugins/Evaluation"),
        .target(name: "ExplainZoo", dependencies: ["ExplainCore"], path: "Sources/Plugins/Zoo"),
        .target(name: "CStb", path: "Sources/Plugins/CStb"),
        .target(name: "ExplainImaging", dependencies: ["ExplainCore", "CStb"], path: "Sources/Plugins/Imaging"),
        .target(
            name: "ExplainConformance",
            dependencies: ["ExplainCore", "ExplainONNX", "ExplainArrays"],
            path: "Sources/Plugins/Conformance"
        ),

        // Umbrella and command-line tool.
        .target(
            name: "ExplainKit",
            dependencies: [
                "ExplainCore", "ExplainONNX", "ExplainArrays", "ExplainZoo", "ExplainConformance", "ExplainImaging", "ExplainEvaluation",
                "ExplainGradient", "ExplainSignal", "ExplainRelevance", "ExplainReference", "ExplainCAM", "ExplainPerturbation",
                "ExplainLayer", "ExplainConcept",
            ],
            path: "Sources/ExplainKit"
        ),
        .executableTarget(
            name: "ExplainCLI",
            dependencies: ["ExplainKit", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sources/ExplainCLI"
        ),

        // Tests (Swift Testing) and their shared helpers.
        .target(name: "ExplainTestSupport", dependencies: ["ExplainCore", "ExplainArrays"], path: "Tests/Support"),
        .target(name: "ExplainKitTestSupport", dependencies: ["ExplainKit", "ExplainTestSupport"], path: "Tests/KitSupport"),
        .testTarget(name: "ExplainCoreTests", dependencies: ["ExplainCore", "ExplainTestSupport"], path: "Tests/ExplainCoreTests"),
        .testTarget(
            name: "ExplainONNXTests",
            dependencies: ["ExplainONNX", "ExplainArrays", "ExplainTestSupport"],
            path: "Tests/ExplainONNXTests"
        ),
        .testTarget(name: "ExplainImagingTests", dependencies: ["ExplainImaging", "ExplainTestSupport"], path: "Tests/ExplainImagingTests"),
        .testTarget(name: "ExplainArraysTests", dependencies: ["ExplainArrays", "ExplainTestSupport"], path: "Tests/ExplainArraysTests"),
        .testTarget(
            name: "ExplainFuzzTests",
            dependencies: ["ExplainKit", "ExplainTestSupport", "ExplainKitTestSupport", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            path: "Tests/ExplainFuzzTests"
        ),
        .testTarget(name: "ExplainCLITests", dependencies: ["ExplainKit", "ExplainTestSupport"], path: "Tests/ExplainCLITests"),
        // A rule plugin written the way a researcher would (depends on Core only); used by the tests.
        .target(name: "ExampleRulePlugin", dependencies: ["ExplainCore"], path: "Tests/ExampleRulePlugin"),
        .testTarget(
            name: "ExplainRelevanceTests",
            dependencies: ["ExplainKit", "ExplainTestSupport", "ExplainKitTestSupport", "ExampleRulePlugin"],
            path: "Tests/ExplainRelevanceTests"
        ),
        .testTarget(name: "ExplainEvaluationTests", dependencies: ["ExplainKit", "ExplainTestSupport", "ExplainKitTestSupport"], path: "Tests/ExplainEvaluationTests"),
        .testTarget(name: "ExplainPerturbationTests", dependencies: ["ExplainKit", "ExplainTestSupport", "ExplainKitTestSupport"], path: "Tests/ExplainPerturbationTests"),
        .testTarget(name: "ExplainCAMTests", dependencies: ["ExplainKit", "ExplainTestSupport", "ExplainKitTestSupport"], path: "Tests/ExplainCAMTests"),
        .testTarget(name: "ExplainConceptTests", dependencies: ["ExplainKit", "ExplainTestSupport"], path: "Tests/ExplainConceptTests"),
        .testTarget(name: "ExplainLayerTests", dependencies: ["ExplainKit", "ExplainTestSupport", "ExplainKitTestSupport"], path: "Tests/ExplainLayerTests"),
        .testTarget(name: "ExplainReferenceTests", dependencies: ["ExplainKit", "ExplainTestSupport", "ExplainKitTestSupport"], path: "Tests/ExplainReferenceTests"),
        .testTarget(name: "ExplainAnalysisTests", dependencies: ["ExplainKit", "ExplainTestSupport", "ExplainKitTestSupport"], path: "Tests/ExplainAnalysisTests"),
    ],
    swiftLanguageModes: [.v6]
)
