import ExplainCore

/// Reference architectures built directly as Core graphs with random weights, for benchmarks
/// (no weight download needed): torchvision's VGG-16 and ResNet-50 layouts at 224×224.
public enum Architectures {
    /// The architecture ids `explain bench --arch` accepts.
    public static let ids = ["vgg16", "resnet50"]

    /// Builds an architecture by id with He-uniform random weights from `seed`.
    public static func build(_ id: String, classes: Int = 1000, seed: UInt64 = 0) throws -> Graph {
        var net = NetBuilder(seed: seed)
        switch id {
        case "vgg16": return try net.vgg16(classes: classes)
        case "resnet50": return try net.resnet50(classes: classes)
        default:
            throw ExplainError(.unknownName, "unknown architecture '\(id)'; known: \(ids.joined(separator: ", "))")
        }
    }

    /// The input shape the architectures expect, for a batch size.
    public static func inputShape(batch: Int) -> [Int] { [batch, 3, 224, 224] }
}

/// Appends layers with random weights to a graph under construction.
struct NetBuilder {
    var graph = GraphBuilder()
    var rng: SeededGenerator

    init(seed: UInt64) { rng = SeededGenerator(seed: seed) }

    mutating func conv(_ x: ValueID, _ cin: Int, _ cout: Int, k: Int, stride: Int = 1, pad: Int = 0, bias: Bool = true, name: String) throws -> ValueID {
        let bound = (6.0 / Float(cin * k * k)).squareRoot()
        let w = rng.uniformTensor([cout, cin, k, k], bound: bound)
        let b = bias ? rng.uniformTensor([cout], bound: 0.01) : nil
        return try graph.add(try Conv2D(weight: w, bias: b, strides: (stride, stride), pads: (pad, pad, pad, pad)), inputs: [x], name: name)
    }

    mutating func batchNorm(_ x: ValueID, _ c: Int, name: String) throws -> ValueID {
        let scale = Tensor(shape: [c]) { p in for i in 0..<c { p[i] = 0.5 + rng.nextUnitFloat() } }
        let shift = rng.uniformTensor([c], bound: 0.1)
        let mean = rng.uniformTensor([c], bound: 0.1)
        let variance = Tensor(shape: [c]) { p in for i in 0..<c { p[i] = 0.5 + rng.nextUnitFloat() } }
        return try graph.add(try BatchNorm(scale: scale, bias: shift, mean: mean, variance: variance), inputs: [x], name: name)
    }

    mutating func dense(_ x: ValueID, _ fin: Int, _ fout: Int, name: String) throws -> ValueID {
        let w = rng.uniformTensor([fout, fin], bound: (6.0 / Float(fin)).squareRoot())
        return try graph.add(try Dense(weight: w, bias: rng.uniformTensor([fout], bound: 0.01)), inputs: [x], name: name)
    }

    mutating func vgg16(classes: Int) throws -> Graph {
        var x = graph.addInput(name: "input", shape: [nil, 3, 224, 224])
        var cin = 3
        for (stage, (width, convs)) in [(64, 2), (128, 2), (256, 3), (512, 3), (512, 3)].enumerated() {
            for i in 0..<convs {
                x = try conv(x, cin, width, k: 3, pad: 1, name: "features.conv\(stage + 1)_\(i + 1)")
                x = try graph.add(Relu(), inputs: [x], name: "features.relu\(stage + 1)_\(i + 1)")
                cin = width
            }
            x = try graph.add(try MaxPool2D(kernel: (2, 2)), inputs: [x], name: "features.pool\(stage + 1)")
        }
        x = try graph.add(Flatten(), inputs: [x], name: "flatten")
        x = try dense(x, 512 * 7 * 7, 4096, name: "classifier.fc1")
        x = try graph.add(Relu(), inputs: [x], name: "classifier.relu1")
        x = try dense(x, 4096, 4096, name: "classifier.fc2")
        x = try graph.add(Relu(), inputs: [x], name: "classifier.relu2")
        x = try dense(x, 4096, classes, name: "classifier.fc3")
        return try graph.build(outputs: [x])
    }

    mutating func bottleneck(_ x: ValueID, _ cin: Int, _ width: Int, stride: Int, name: String) throws -> ValueID {
        let cout = width * 4
        var y = try conv(x, cin, width, k: 1, bias: false, name: "\(name).conv1")
        y = try batchNorm(y, width, name: "\(name).bn1")
        y = try graph.add(Relu(), inputs: [y], name: "\(name).relu1")
        y = try conv(y, width, width, k: 3, stride: stride, pad: 1, bias: false, name: "\(name).conv2")
        y = try batchNorm(y, width, name: "\(name).bn2")
        y = try graph.add(Relu(), inputs: [y], name: "\(name).relu2")
        y = try conv(y, width, cout, k: 1, bias: false, name: "\(name).conv3")
        y = try batchNorm(y, cout, name: "\(name).bn3")
        var shortcut = x
        if stride != 1 || cin != cout {
            shortcut = try conv(x, cin, cout, k: 1, stride: stride, bias: false, name: "\(name).downsample.0")
            shortcut = try batchNorm(shortcut, cout, name: "\(name).downsample.1")
        }
        let sum = try graph.add(Binary(.add), inputs: [y, shortcut], name: "\(name).add")
        return try graph.add(Relu(), inputs: [sum], name: "\(name).relu")
    }

    mutating func resnet50(classes: Int) throws -> Graph {
        var x = graph.addInput(name: "input", shape: [nil, 3, 224, 224])
        x = try conv(x, 3, 64, k: 7, stride: 2, pad: 3, bias: false, name: "conv1")
        x = try batchNorm(x, 64, name: "bn1")
        x = try graph.add(Relu(), inputs: [x], name: "relu")
        x = try graph.add(try MaxPool2D(kernel: (3, 3), strides: (2, 2), pads: (1, 1, 1, 1)), inputs: [x], name: "maxpool")
        var cin = 64
        for (stage, (width, blocks)) in [(64, 3), (128, 4), (256, 6), (512, 3)].enumerated() {
            for b in 0..<blocks {
                x = try bottleneck(x, cin, width, stride: b == 0 && stage > 0 ? 2 : 1, name: "layer\(stage + 1).\(b)")
                cin = width * 4
            }
        }
        x = try graph.add(GlobalAveragePool(), inputs: [x], name: "avgpool")
        x = try graph.add(Flatten(), inputs: [x], name: "flatten")
        x = try dense(x, 2048, classes, name: "fc")
        return try graph.build(outputs: [x])
    }
}
