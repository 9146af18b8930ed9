import ExplainCore

/// Pooling converters and the window attributes (kernel, strides, pads, `auto_pad`) that
/// convolutions share with them.
extension Operators {
    static func maxPool(_ c: NodeContext) throws -> Conversion {
        let a = c.attributes
        if let k = try a.ints("kernel_shape"), k.count == 1 {
            if try a.int("storage_order", default: 0) != 0 { throw a.unsupported("storage_order", 1, "only the row-major index order is supported") }
            let (stride, pads, dilation) = try window1D(c, kernel: k[0])
            return .layer(try MaxPool1D(kernel: k[0], stride: stride, pads: pads, dilation: dilation,
                                        ceilMode: try a.int("ceil_mode", default: 0) != 0), [c.operand(0)])
        }
        let kernel = try pair(try a.ints("kernel_shape") ?? [], "kernel_shape", c)
        if try a.int("storage_order", default: 0) != 0 {
            throw a.unsupported("storage_order", 1, "only the row-major index order is supported")
        }
        let strides = try pair(a.ints("strides") ?? [1, 1], "strides", c)
        let dilations = try pair(a.ints("dilations") ?? [1, 1], "dilations", c)
        let pads = try resolvePads(c, kernel: kernel, strides: strides, dilations: dilations)
        let layer = try MaxPool2D(kernel: kernel, strides: strides, pads: pads, dilations: dilations,
                                  ceilMode: try a.int("ceil_mode", default: 0) != 0)
        return .layer(layer, [c.operand(0)])
    }

    static func averagePool(_ c: NodeContext) throws -> Conversion {
        let a = c.attributes
        let kernel = try pair(try a.ints("kernel_shape") ?? [], "kernel_shape", c)
        let strides = try pair(a.ints("strides") ?? [1, 1], "strides", c)
        if let d = try a.ints("dilations"), d.contains(where: { $0 != 1 }) {
            throw a.unsupported("dilations", d, "dilated average pooling is not supported")
        }
        let pads = try resolvePads(c, kernel: kernel, strides: strides, dilations: (1, 1))
        let layer = try AveragePool2D(kernel: kernel, strides: strides, pads: pads,
                                      ceilMode: try a.int("ceil_mode", default: 0) != 0,
                                      countIncludePad: try a.int("count_include_pad", default: 0) != 0)
        return .layer(layer, [c.operand(0)])
    }

    static func pair(_ v: [Int], _ name: String, _ c: NodeContext) throws -> (Int, Int) {
        guard v.count == 2 else {
            throw c.error(.unsupportedAttribute, "\(name) = \(v): only 2-D windows (two values) are supported")
        }
        return (v[0], v[1])
    }

    /// Explicit pads `[top, left, bottom, right]`, or computed from `auto_pad` and the input size.
    /// Stride, (begin, end) padding and dilation of a window over one spatial axis.
    static func window1D(_ c: NodeContext, kernel: Int) throws -> (Int, (Int, Int), Int) {
        let a = c.attributes
        let strides = try a.ints("strides") ?? [1], dilations = try a.ints("dilations") ?? [1]
        guard strides.count == 1, dilations.count == 1, strides[0] >= 1, dilations[0] >= 1 else {
            throw c.error(.unsupportedAttribute, "a 1-D window needs one stride and one dilation ≥ 1, got \(strides), \(dilations)")
        }
        switch try a.string("auto_pad") ?? "NOTSET" {
        case "NOTSET", "":
            let p = try a.ints("pads") ?? [0, 0]
            guard p.count == 2, p.allSatisfy({ $0 >= 0 }) else { throw c.error(.unsupportedAttribute, "pads = \(p): a 1-D window takes two values ≥ 0") }
            return (strides[0], (p[0], p[1]), dilations[0])
        case "VALID":
            return (strides[0], (0, 0), dilations[0])
        case let mode:
            throw a.unsupported("auto_pad", mode, "1-D windows take NOTSET or VALID; export with explicit padding")
        }
    }

    static func resolvePads(_ c: NodeContext, kernel: (Int, Int), strides: (Int, Int), dilations: (Int, Int)) throws -> (Int, Int, Int, Int) {
        let a = c.attributes
        let mode = try a.string("auto_pad") ?? "NOTSET"
        switch mode {
        case "NOTSET", "":
            let p = try a.ints("pads") ?? [0, 0, 0, 0]
            guard p.count == 4 else { throw c.error(.unsupportedAttribute, "pads = \(p): only 2-D windows (four values) are supported") }
            return (p[0], p[1], p[2], p[3])
        case "VALID":
            return (0, 0, 0, 0)
        case "SAME_UPPER", "SAME_LOWER":
            guard let s = c.shape(0), s.count == 4 else {
                throw c.error(.unsupportedAttribute, "auto_pad = \(mode) needs the input size at import time; give the input shape")
            }
            func split(_ n: Int, _ k: Int, _ st: Int, _ d: Int) -> (Int, Int) {
                let out = (n + st - 1) / st
                let total = max(0, (out - 1) * st + (k - 1) * d + 1 - n)
                return mode == "SAME_UPPER" ? (total / 2, total - total / 2) : (total - total / 2, total / 2)
            }
            let (t, b) = split(s[2], kernel.0, strides.0, dilations.0)
            let (l, r) = split(s[3], kernel.1, strides.1, dilations.1)
            return (t, l, b, r)
        default:
            throw a.unsupported("auto_pad", mode, "use NOTSET, VALID, SAME_UPPER or SAME_LOWER")
        }
    }
}
