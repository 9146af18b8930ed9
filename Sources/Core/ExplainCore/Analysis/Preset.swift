/// Selects graph nodes for a preset entry: by layer kind, node name, name pattern, position,
/// index range, or combinations. Matchers print themselves.
public indirect enum Matcher: Sendable, CustomStringConvertible {
    /// Layers of this kind.
    case kind(LayerKind)
    /// Layers conforming to `AffineLayer` (Conv, Dense).
    case affine
    /// Element-wise activations (layers conforming to `ElementwiseActivation`: Relu, Sigmoid, …).
    case activation
    /// The node with exactly this name.
    case name(String)
    /// Node names matching a glob pattern (`*` any run, `?` one character), e.g. `layer4.*`.
    case pattern(String)
    /// The first node (in topological order) that `inner` matches.
    case first(Matcher)
    /// The last node (in topological order) that `inner` matches.
    case last(Matcher)
    /// Nodes whose index in topological order lies in the range.
    case indices(ClosedRange<Int>)
    /// The nodes `inner` matches whose position among its matches (0-based, in topological order)
    /// lies in the range: `.positions(.affine, 0...2)` is the first three Conv/Dense layers.
    case positions(Matcher, ClosedRange<Int>)
    /// Every node.
    case any
    case and(Matcher, Matcher)
    case or(Matcher, Matcher)
    case not(Matcher)

    public var description: String {
        switch self {
        case .kind(let k): "kind \(k)"
        case .affine: "affine"
        case .activation: "activation"
        case .name(let n): "name \(n)"
        case .pattern(let p): "name:\(p)"
        case .first(let m): "first(\(m))"
        case .last(let m): "last(\(m))"
        case .indices(let r): "index \(r.lowerBound)...\(r.upperBound)"
        case .positions(let m, let r): "\(m) \(r.lowerBound)...\(r.upperBound)"
        case .any: "any"
        case .and(let a, let b): "(\(a) && \(b))"
        case .or(let a, let b): "(\(a) || \(b))"
        case .not(let a): "!(\(a))"
        }
    }

    public static func && (a: Matcher, b: Matcher) -> Matcher { .and(a, b) }
    public static func || (a: Matcher, b: Matcher) -> Matcher { .or(a, b) }
    public static prefix func ! (a: Matcher) -> Matcher { .not(a) }

    /// Whether node `index` of `graph` matches.
    public func matches(_ index: Int, in graph: Graph) -> Bool {
        let node = graph.nodes[index]
        switch self {
        case .kind(let k): return node.layer.kind == k
        case .affine: return node.layer is any AffineLayer
        case .activation: return node.layer is any ElementwiseActivation
        case .name(let n): return node.name == n
        case .pattern(let p): return Self.glob(p, node.name)
        case .first(let m): return graph.nodes.indices.first { m.matches($0, in: graph) } == index
        case .last(let m): return graph.nodes.indices.last { m.matches($0, in: graph) } == index
        case .indices(let r): return r.contains(index)
        case .positions(let m, let r):
            guard m.matches(index, in: graph) else { return false }
            return r.contains(graph.nodes.indices.prefix(index).count { m.matches($0, in: graph) })
        case .any: return true
        case .and(let a, let b): return a.matches(index, in: graph) && b.matches(index, in: graph)
        case .or(let a, let b): return a.matches(index, in: graph) || b.matches(index, in: graph)
        case .not(let a): return !a.matches(index, in: graph)
        }
    }

    /// Which nodes of `graph` match, all at once: linear in the node count (`first`/`last` resolve
    /// their inner matcher once instead of once per node as `matches` does).
    public func mask(in graph: Graph) -> [Bool] {
        let all = graph.nodes.indices
        switch self {
        case .first(let m), .last(let m):
            let inner = m.mask(in: graph)
            var out = [Bool](repeating: false, count: all.count)
            let hit: Int? = if case .first = self { inner.firstIndex(of: true) } else { inner.lastIndex(of: true) }
            if let hit { out[hit] = true }
            return out
        case .positions(let m, let r):
            var position = -1
            return m.mask(in: graph).map { hit in
                guard hit else { return false }
                position += 1
                return r.contains(position)
            }
        case .and(let a, let b): return zip(a.mask(in: graph), b.mask(in: graph)).map { $0 && $1 }
        case .or(let a, let b): return zip(a.mask(in: graph), b.mask(in: graph)).map { $0 || $1 }
        case .not(let a): return a.mask(in: graph).map { !$0 }
        default: return all.map { matches($0, in: graph) }
        }
    }

    /// Glob match with `*` and `?`.
    public static func glob(_ pattern: String, _ text: String) -> Bool {
        let p = Array(pattern), t = Array(text)
        var pi = 0, ti = 0, star = -1, mark = 0
        while ti < t.count {
            if pi < p.count && (p[pi] == "?" || p[pi] == t[ti]) {
                pi += 1; ti += 1
            } else if pi < p.count && p[pi] == "*" {
                star = pi; mark = ti; pi += 1
            } else if star >= 0 {
                pi = star + 1; mark += 1; ti = mark
            } else {
                return false
            }
        }
        while pi < p.count && p[pi] == "*" { pi += 1 }
        return pi == p.count
    }
}

/// Maps graph nodes to rules: entries are tried in order and the first match wins; nodes no entry
/// matches fall through to `fallback` (another preset), then to their plain pullback.
/// Presets are data: they print themselves and compose.
public struct Preset: Sendable, CustomStringConvertible {
    /// One `matcher → rule` line.
    public struct Entry: Sendable {
        public var matcher: Matcher
        public var rule: any Rule
        public init(_ matcher: Matcher, _ rule: any Rule) {
            self.matcher = matcher
            self.rule = rule
        }
    }

    public var name: String
    public var canonizers: [any Canonizer]
    public var entries: [Entry]
    public var fallback: [Preset]

    public init(_ name: String, canonizers: [any Canonizer] = [], entries: [Entry] = [], fallback: Preset? = nil) {
        self.name = name
        self.canonizers = canonizers
        self.entries = entries
        self.fallback = fallback.map { [$0] } ?? []
    }

    /// Builds a preset with a list of `when(matcher, use: rule)` lines.
    public init(_ name: String, canonizers: [any Canonizer] = [], fallback: Preset? = nil, @PresetBuilder _ lines: () -> [Entry]) {
        self.init(name, canonizers: canonizers, entries: lines(), fallback: fallback)
    }

    /// A copy with `entries` tried before this preset's own (user overrides).
    public func overriding(with entries: [Entry], name: String? = nil) -> Preset {
        var p = Preset(name ?? self.name, canonizers: canonizers, entries: entries)
        p.fallback = [self]
        return p
    }

    /// The rule for every node of `graph` (nil where no entry matches), each matcher evaluated once.
    public func rules(in graph: Graph) -> [(any Rule)?] {
        var out = [(any Rule)?](repeating: nil, count: graph.nodes.count)
        var open = [Bool](repeating: true, count: graph.nodes.count)
        for e in entries {
            for (i, hit) in e.matcher.mask(in: graph).enumerated() where hit && open[i] {
                out[i] = e.rule
                open[i] = false
            }
        }
        for f in fallback {
            for (i, r) in f.rules(in: graph).enumerated() where open[i] && r != nil {
                out[i] = r
                open[i] = false
            }
        }
        return out
    }

    /// The rule for node `index`, or nil when no entry matches.
    public func rule(for index: Int, in graph: Graph) -> (any Rule)? {
        for e in entries where e.matcher.matches(index, in: graph) { return e.rule }
        for f in fallback { if let r = f.rule(for: index, in: graph) { return r } }
        return nil
    }

    /// Every canonizer, own first, then the fallback's (each type once).
    public var allCanonizers: [any Canonizer] {
        var seen = Set<String>()
        return (canonizers + fallback.flatMap(\.allCanonizers)).filter { seen.insert($0.description).inserted }
    }

    public var description: String {
        var lines = ["preset \(name)"]
        if !canonizers.isEmpty { lines.append("  canonizers: " + canonizers.map(\.description).joined(separator: ", ")) }
        for e in entries { lines.append("  \(e.matcher) → \(e.rule)") }
        for f in fallback { lines.append("  otherwise: " + f.description.replacingOccurrences(of: "\n", with: "\n  ")) }
        return lines.joined(separator: "\n")
    }
}

/// `when(.kind(.conv2d), use: rule)` lines for `Preset`'s builder.
public func when(_ matcher: Matcher, use rule: any Rule) -> Preset.Entry { Preset.Entry(matcher, rule) }

/// The result builder behind `Preset`'s DSL: `when(…, use: …)` lines, loops and conditionals
/// become the preset's entries in order.
@resultBuilder
public enum PresetBuilder {
    public static func buildExpression(_ e: Preset.Entry) -> [Preset.Entry] { [e] }
    public static func buildBlock(_ parts: [Preset.Entry]...) -> [Preset.Entry] { parts.flatMap { $0 } }
    public static func buildArray(_ parts: [[Preset.Entry]]) -> [Preset.Entry] { parts.flatMap { $0 } }
    public static func buildOptional(_ part: [Preset.Entry]?) -> [Preset.Entry] { part ?? [] }
    public static func buildEither(first part: [Preset.Entry]) -> [Preset.Entry] { part }
    public static func buildEither(second part: [Preset.Entry]) -> [Preset.Entry] { part }
}
