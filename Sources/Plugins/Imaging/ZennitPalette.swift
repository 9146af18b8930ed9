import ExplainCore

/// zennit's color maps, byte for byte (`zennit.cmap.ColorMap`, `zennit.image.palette`): a map is
/// written in zennit's color-map language — comma-separated RGB colors of 3 or 6 hex digits, each
/// optionally preceded by a hex index `0…ff` and a colon; colors without an index are spaced evenly
/// between their indexed neighbours, the first defaults to 0 and the last to 255 — and is
/// interpolated linearly. `palette(level:)` is zennit's 256-color palette: positions
/// `((linspace(−1, 1, 256) · level + 1) / 2)` clipped to [0, 1], mapped, `· 255`, rounded to 12
/// decimals and truncated to bytes. The built-in maps (`bwr`, `coldnhot`, zennit's `seismic`, …) are
/// zennit 0.5.1's sources.
public struct ZennitPalette: Sendable {
    /// zennit 0.5.1's `CMAPS`.
    public static let builtIns: [(String, String)] = [
        ("gray", "000,fff"), ("wred", "fff,f00"), ("wblue", "fff,00f"), ("hot", "000,f00,ff0,fff"), ("cold", "000,00f,0ff"),
        ("coldnhot", "0ff,00f,80:000,f00,ff0,fff"), ("bwr", "00f,80:fff,f00"), ("france", "0055a4,80:fff,ef4135"),
        ("seismic", "0000d0,80:d0d0d0,d00000"), ("coolio", "00d0d0,80:d0d0d0,d000d0"), ("coleus", "00d000,80:d0d0d0,d000d0"),
    ]

    /// Node positions in 0…256 (the last is 256) and their colors in 0…255.
    let indices: [Double], colors: [[Double]]

    /// A built-in map by name, or a map compiled from zennit's color-map language.
    public static func named(_ nameOrCode: String) throws -> ZennitPalette {
        try ZennitPalette(source: builtIns.first { $0.0 == nameOrCode }?.1 ?? nameOrCode)
    }

    /// Compiles a map written in zennit's color-map language.
    public init(source: String) throws {
        enum Token { case color([Double]), index(Int), colon, comma }
        func fail(_ why: String) -> ExplainError {
            ExplainError(.invalidArgument, "zennit color map '\(source)': \(why); write colors as 3 or 6 hex digits separated by commas, each optionally after an index 0…ff and ':' (e.g. 00f,80:fff,f00), or use a built-in: \(Self.builtIns.map(\.0).joined(separator: ", "))")
        }
        // Tokens, longest color first, as zennit's regular expression takes them.
        let chars = Array(source)
        var tokens = [Token](), i = 0
        func hexRun(_ start: Int) -> Int { var k = start; while k < chars.count, chars[k].isHexDigit { k += 1 }; return k - start }
        func value(_ s: ArraySlice<Character>) -> Int { Int(String(s), radix: 16) ?? 0 }
        while i < chars.count {
            let run = hexRun(i)
            if run >= 6 {
                tokens.append(.color(stride(from: i, to: i + 6, by: 2).map { Double(value(chars[$0..<($0 + 2)])) })); i += 6
            } else if run >= 3 {
                tokens.append(.color((i..<(i + 3)).map { Double(value(chars[$0...$0]) * 17) })); i += 3
            } else if run >= 1 {
                let digits = chars[i..<(i + run)]
                tokens.append(.index(value(run == 1 ? ArraySlice(digits + digits) : digits))); i += run
            } else if chars[i] == ":" { tokens.append(.colon); i += 1
            } else if chars[i] == "," { tokens.append(.comma); i += 1
            } else if chars[i].isWhitespace { i += 1
            } else { throw fail("unexpected '\(chars[i])' at \(i)") }
        }
        // Nodes: (index or nil, color).
        var nodes = [(Int?, [Double])](), pending = [Token]()
        for token in tokens {
            switch token {
            case .index where pending.isEmpty: pending.append(token)
            case .colon where pending.count == 1 && { if case .index = pending[0] { return true } else { return false } }():
                pending.append(token)
            case .color(let c):
                if pending.isEmpty { nodes.append((nil, c)) }
                else if pending.count == 2, case .index(let k) = pending[0] { nodes.append((k, c)) }
                else { throw fail("a color must follow an index and ':' or stand alone") }
                pending = [token]
            case .comma where { if case .color = pending.last { return true } else { return false } }(): pending = []
            default: throw fail("unexpected token")
            }
        }
        guard nodes.count >= 2 else { throw fail("give at least 2 colors") }
        if case .color = pending.last {} else if !pending.isEmpty { throw fail("it ends without a color") }
        // zennit's _make_palette.
        var result = [(Double(0), nodes[0].1)]
        if let k = nodes[0].0, k > 0 { result.append((Double(k), nodes[0].1)) }
        var waiting = [[Double]]()
        let rest = Array(nodes.dropFirst())
        for (n, node) in rest.enumerated() {
            var index: Double
            if let k = node.0 {
                index = Double(k)
                guard index >= result[result.count - 1].0 else { throw fail("indices must ascend") }
            } else {
                if n < rest.count - 1 { waiting.append(node.1); continue }
                index = 255
            }
            if !waiting.isEmpty {
                let (left, count) = (result[result.count - 1].0, waiting.count)
                for (k, color) in waiting.enumerated() {
                    let alpha = Double(k + 1) * (1.0 / Double(count + 1))   // numpy.linspace(0, 1, count + 2)[1:-1]
                    result.append((Double(Int(left * (1 - alpha) + index * alpha)), color))
                }
                waiting = []
            }
            result.append((index, node.1))
        }
        result.append((256, result[result.count - 1].1))
        (indices, colors) = (result.map(\.0), result.map(\.1))
    }

    /// The color of a position in [0, 1] (clipped), as RGB in [0, 1] (zennit's `ColorMap.__call__`).
    public func color(_ position: Double) -> [Double] {
        let x = min(max(position * 255, 0), 255)
        var k = 0   // searchsorted(indices[:-1], x, side='right')
        while k < indices.count - 1 && indices[k] <= x { k += 1 }
        let alpha = (x - indices[k - 1]) / (indices[k] - indices[k - 1])
        return (0..<3).map { (colors[k - 1][$0] * (1 - alpha) + colors[k][$0] * alpha) / 255 }
    }

    /// zennit's 256-color palette at `level`, as 768 bytes (RGB per entry).
    public func palette(level: Double = 1) -> [UInt8] {
        (0..<256).flatMap { k -> [UInt8] in
            let t = k == 255 ? 1.0 : -1 + Double(k) * (2.0 / 255.0)   // numpy.linspace(-1, 1, 256)
            let position = min(max((t * level + 1) / 2, 0), 1)
            return color(position).map { c in
                let v = ((c * 255 * 1e12).rounded(.toNearestOrEven) / 1e12)
                return UInt8(min(max(v, 0), 255).rounded(.towardZero))
            }
        }
    }
}
