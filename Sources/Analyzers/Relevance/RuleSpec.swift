import ExplainCore

/// Parses user rule assignments such as `conv=gamma:0.25`, `first=zbox:-1,1`, `dense=epsilon:1e-6`,
/// `name:layer4.*=alpha_beta:2,1` (the CLI's `--rule`) into preset entries.
public enum RuleSpec {
    /// Matcher words: layer kinds (`conv`, `dense`, `relu`, any `LayerKind` raw value), `affine`,
    /// `first`/`last` (first/last affine layer), `first:conv`, `name:GLOB`, `index:A-B`, `any`.
    public static func matcher(_ text: String) throws -> Matcher {
        let aliases: [String: Matcher] = [
            "conv": .kind(.conv2d) || .kind(.conv1d), "dense": .kind(.dense), "linear": .kind(.dense), "gemm": .kind(.dense),
            "affine": .affine, "activation": .activation, "first": .first(.affine), "last": .last(.affine), "any": .any,
            "pool": .kind(.averagePool) || .kind(.globalAveragePool), "add": .kind(.add), "bn": .kind(.batchNorm),
        ]
        if let m = aliases[text] { return m }
        if text.hasPrefix("name:") { return .pattern(String(text.dropFirst(5))) }
        if text.hasPrefix("first:") { return .first(try matcher(String(text.dropFirst(6)))) }
        if text.hasPrefix("last:") { return .last(try matcher(String(text.dropFirst(5)))) }
        if text.hasPrefix("kind:") { return .kind(LayerKind(rawValue: String(text.dropFirst(5)))) }
        if text.hasPrefix("index:") {
            let parts = text.dropFirst(6).split(separator: "-").compactMap { Int($0) }
            guard parts.count == 2, parts[0] <= parts[1], parts[0] >= 0 else {
                throw ExplainError(.invalidArgument, "'\(text)': write index:A-B with 0 ≤ A ≤ B")
            }
            return .indices(parts[0]...parts[1])
        }
        let known = Set([LayerKind.relu, .leakyRelu, .sigmoid, .tanh, .clip, .maxPool, .averagePool, .globalAveragePool,
                         .batchNorm, .add, .concat, .flatten, .reshape, .conv2d, .conv1d, .dense, .matmul].map(\.rawValue))
        if known.contains(text) { return .kind(LayerKind(rawValue: text)) }
        throw ExplainError(.invalidArgument, "unknown layer selector '\(text)'; use conv, dense, affine, first, last, any, a layer kind (\(known.sorted().joined(separator: ", "))), first:SEL, name:GLOB, kind:KIND or index:A-B")
    }

    /// One `selector=rule[:args]` assignment.
    public static func entry(_ text: String, registry: Registry) throws -> Preset.Entry {
        guard let eq = text.firstIndex(of: "="), eq != text.startIndex else {
            throw ExplainError(.invalidArgument, "'\(text)' is not selector=rule (e.g. conv=gamma:0.25)")
        }
        let m = try matcher(String(text[..<eq]))
        let ruleText = text[text.index(after: eq)...]
        let (id, argText) = ruleText.firstIndex(of: ":").map { (String(ruleText[..<$0]), String(ruleText[ruleText.index(after: $0)...])) }
            ?? (String(ruleText), "")
        let args = try argText.split(separator: ",").map { part -> Double in
            guard let v = Double(part.trimmingCharacters(in: .whitespaces)), v.isFinite else {
                throw ExplainError(.invalidArgument, "rule argument '\(part)' in '\(text)' is not a number")
            }
            return v
        }
        return Preset.Entry(m, try registry.rule(id).rule(args))
    }

    /// Entries separated by `;`.
    public static func entries(_ text: String, registry: Registry) throws -> [Preset.Entry] {
        try split(text).map { try entry($0, registry: registry) }
    }

    /// The `;`-separated assignments of `text`, trimmed (one per entry of `entries`).
    public static func split(_ text: String) -> [String] {
        text.split(separator: ";").map { String($0).trimmingCharacters(in: .whitespaces) }
    }
}
