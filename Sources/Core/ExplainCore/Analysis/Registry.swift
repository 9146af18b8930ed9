import Foundation

/// Everything the registry knows about one analyzer id.
public struct AnalyzerEntry: Sendable {
    public var id: String
    public var family: String
    public var summary: String
    /// The formula, in plain text.
    public var formula: String
    /// The paper (and peer library) it follows.
    public var reference: String
    public var parameters: [Parameter]
    /// The parameter (one of `parameters`) that names a wrapped analyzer, e.g. SmoothGrad's `base`:
    /// options that are not this entry's own are then checked against, and meant for, that analyzer.
    public var wrapping: String?
    /// Creates the analyzer for a model; options are validated against `parameters` first.
    public var make: @Sendable (ExplainableModel, Options, Registry) throws -> any Analyzer

    public init(id: String, family: String, summary: String, formula: String, reference: String, parameters: [Parameter] = [],
                wrapping: String? = nil, make: @escaping @Sendable (ExplainableModel, Options, Registry) throws -> any Analyzer) {
        self.id = id
        self.family = family
        self.summary = summary
        self.formula = formula
        self.reference = reference
        self.parameters = parameters
        self.wrapping = wrapping
        self.make = make
    }

    /// The options that are not this entry's own parameters (for the wrapped analyzer).
    public func foreignOptions(_ options: Options) -> Options {
        let own = Set(parameters.map(\.name))
        return options.filter { !own.contains($0) }
    }
}

/// A rule that can be named on the command line (`--rule conv=gamma:0.25`).
public struct RuleEntry: Sendable {
    public var id: String
    public var summary: String
    /// The names of its positional arguments, in order (`["low", "high"]`); nil when not declared
    /// (then `make` alone checks them).
    public var arguments: [String]?
    /// Creates the rule from its numeric arguments (`gamma:0.25` → `[0.25]`).
    public var make: @Sendable ([Double]) throws -> any Rule
    public init(id: String, summary: String, arguments: [String]? = nil, make: @escaping @Sendable ([Double]) throws -> any Rule) {
        self.id = id
        self.summary = summary
        self.arguments = arguments
        self.make = make
    }

    /// Creates the rule: more arguments than declared, or an argument `make` rejects, is an error
    /// naming this rule.
    public func rule(_ args: [Double]) throws -> any Rule {
        if let names = arguments, args.count > names.count {
            let takes = names.isEmpty ? "no arguments"
                : "at most \(names.count) argument\(names.count == 1 ? "" : "s") (\(names.joined(separator: ", ")))"
            throw ExplainError(.invalidArgument, "rule \(id) takes \(takes), got \(args.count)")
        }
        do { return try make(args) } catch var e as ExplainError {
            if !e.message.hasPrefix("rule \(id)") { e.message = "rule \(id): " + e.message }
            throw e
        }
    }
}

/// A named preset, created from options (e.g. ZBox bounds).
public struct PresetEntry: Sendable {
    public var id: String
    public var summary: String
    public var make: @Sendable (Options) throws -> Preset
    public init(id: String, summary: String, make: @escaping @Sendable (Options) throws -> Preset) {
        self.id = id
        self.summary = summary
        self.make = make
    }
}

/// A named canonizer.
public struct CanonizerEntry: Sendable {
    public var id: String
    public var summary: String
    public var canonizer: any Canonizer
    public init(id: String, summary: String, canonizer: any Canonizer) {
        self.id = id
        self.summary = summary
        self.canonizer = canonizer
    }
}

/// Translates one case of a reference fixture set (`manifest.json`) into an analyzer id, options
/// and target node, for `explain conformance`. Families register translators for the methods they implement.
public struct CaseTranslator: Sendable {
    /// The case's `method` field this translator handles (e.g. `GuidedBackprop`).
    public var method: String
    /// Returns the analyzer id and options for a case, or nil when this case variant is not supported.
    public var translate: @Sendable (FixtureCase) throws -> (id: String, options: Options)?
    public init(method: String, translate: @escaping @Sendable (FixtureCase) throws -> (id: String, options: Options)?) {
        self.method = method
        self.translate = translate
    }
}

/// One case of a fixture manifest, as translators see it.
public struct FixtureCase: Sendable {
    public var id: String
    public var method: String
    public var family: String
    /// The case's `params`, as JSON values.
    public var params: [String: JSONValue]
    public init(id: String, method: String, family: String, params: [String: JSONValue]) {
        self.id = id
        self.method = method
        self.family = family
        self.params = params
    }
}

extension Double {
    /// A fixture parameter as an integer option value (`12`). One that is not a safe integer (NaN,
    /// ±∞, beyond 2^53) stays as written, so the option parser names it instead of a conversion
    /// trapping on a damaged manifest.
    public var integerText: String { isFinite && abs(self) < 9_007_199_254_740_992 ? String(Int(self)) : String(self) }
}

/// A JSON value (for fixture parameters).
public enum JSONValue: Sendable, Equatable {
    case number(Double)
    case string(String)
    case bool(Bool)
    case array([JSONValue])
    case object([String: JSONValue])
    case null

    /// Converts a `JSONSerialization` result.
    public init(_ any: Any) {
        switch any {
        case let n as NSNumber where String(cString: n.objCType) == "c": self = .bool(n.boolValue)
        case let n as NSNumber: self = .number(n.doubleValue)
        case let s as String: self = .string(s)
        case let a as [Any]: self = .array(a.map(JSONValue.init))
        case let o as [String: Any]: self = .object(o.mapValues(JSONValue.init))
        default: self = .null
        }
    }

    public var number: Double? { if case .number(let v) = self { return v } else { return nil } }
    public var string: String? { if case .string(let v) = self { return v } else { return nil } }
    public var bool: Bool? { if case .bool(let v) = self { return v } else { return nil } }
    public var array: [JSONValue]? { if case .array(let v) = self { return v } else { return nil } }
}

/// The catalogue of analyzers, rules, presets, canonizers and fixture translators. A value: tests
/// build their own; applications build one at startup with `ExplainSystem.bootstrap`.
public struct Registry: Sendable {
    public private(set) var analyzers: [String: AnalyzerEntry] = [:]
    /// Other names of analyzers (another library's name, e.g. Captum's `input_x_gradient`) → id.
    public private(set) var aliases: [String: String] = [:]
    public private(set) var rules: [String: RuleEntry] = [:]
    public private(set) var presets: [String: PresetEntry] = [:]
    public private(set) var canonizers: [String: CanonizerEntry] = [:]
    public private(set) var translators: [String: CaseTranslator] = [:]

    public init() {}

    private static func checkNew(_ id: String, _ existing: some Collection<String>, _ what: String, spaces: Bool = false) throws {
        guard !id.isEmpty, spaces || !id.contains(where: { $0.isWhitespace }) else {
            throw ExplainError(.invalidArgument, "\(what) id '\(id)' must be non-empty without spaces")
        }
        guard !existing.contains(id) else { throw ExplainError(.invalidArgument, "\(what) '\(id)' is registered twice") }
    }

    public mutating func register(_ e: AnalyzerEntry) throws {
        try Self.checkNew(e.id, Array(analyzers.keys) + Array(aliases.keys), "analyzer")
        analyzers[e.id] = e
    }
    /// Makes `alias` another name of analyzer `id` (registered before); it must be new.
    public mutating func register(alias: String, for id: String) throws {
        guard analyzers[id] != nil else { throw Self.unknown(id, kind: "analyzer", known: Array(analyzers.keys)) }
        try Self.checkNew(alias, Array(analyzers.keys) + Array(aliases.keys), "analyzer")
        aliases[alias] = id
    }
    /// The other names of analyzer `id`, sorted.
    public func aliases(of id: String) -> [String] { aliases.filter { $0.value == id }.map(\.key).sorted() }
    public mutating func register(_ e: RuleEntry) throws { try Self.checkNew(e.id, rules.keys, "rule"); rules[e.id] = e }
    public mutating func register(_ e: PresetEntry) throws { try Self.checkNew(e.id, presets.keys, "preset"); presets[e.id] = e }
    public mutating func register(_ e: CanonizerEntry) throws { try Self.checkNew(e.id, canonizers.keys, "canonizer"); canonizers[e.id] = e }
    public mutating func register(_ t: CaseTranslator) throws { try Self.checkNew(t.method, translators.keys, "fixture method", spaces: true); translators[t.method] = t }

    /// The analyzer entry for an id; unknown ids throw with the known ids and the closest match.
    public func analyzer(_ id: String) throws -> AnalyzerEntry {
        guard let e = analyzers[id] ?? aliases[id].flatMap({ analyzers[$0] }) else {
            throw Self.unknown(id, kind: "analyzer", known: Array(analyzers.keys) + Array(aliases.keys))
        }
        return e
    }

    public func rule(_ id: String) throws -> RuleEntry {
        guard let e = rules[id] else { throw Self.unknown(id, kind: "rule", known: Array(rules.keys)) }
        return e
    }

    public func preset(_ id: String) throws -> PresetEntry {
        guard let e = presets[id] else { throw Self.unknown(id, kind: "preset", known: Array(presets.keys)) }
        return e
    }

    /// The parameter names analyzer `id` accepts with `options`: its own, and for a wrapper those of
    /// the analyzer it wraps (named in `options` or by default).
    public func parameterNames(_ id: String, options: Options = Options()) throws -> [String] {
        let entry = try analyzer(id)
        var names = entry.parameters.map(\.name)
        if let key = entry.wrapping, let p = entry.parameters.first(where: { $0.name == key }),
           let wrapped = try? analyzer(options.values[key] ?? p.defaultValue) {
            names += wrapped.parameters.map(\.name).filter { !names.contains($0) }
        }
        return names
    }

    /// The part of `options` that analyzer `id` takes (for options shared by several methods).
    public func options(for id: String, from options: Options) throws -> Options {
        let names = Set(try parameterNames(id, options: options))
        return options.filter { names.contains($0) }
    }

    /// Creates an analyzer by id, after checking that every option is a declared parameter.
    public func makeAnalyzer(_ id: String, model: ExplainableModel, options: Options = Options()) throws -> any Analyzer {
        let entry = try analyzer(id)
        let names = try parameterNames(id, options: options)
        let known = Set(names)
        for key in options.values.keys.sorted() where !known.contains(key) {
            let list = names.isEmpty ? "it takes none" : "its parameters are " + names.joined(separator: ", ")
            let hint = Self.closest(key, in: names).map { "did you mean '\($0)'? " } ?? ""
            throw ExplainError(.invalidArgument, "\(id) has no parameter '\(key)'; \(hint)\(list)")
        }
        let made = try entry.make(model, options, self)
        // A graph fixed at batch size 1: every analyzer that does not split its own batches (a
        // backprop analyzer does, and wrappers need it as such) runs one sample at a time.
        return model.graph.runsOneSampleAtATime && !(made is any SplitsItsOwnBatches) ? SampleBySample(made) : made
    }

    static func unknown(_ id: String, kind: String, known: [String]) -> ExplainError {
        let sorted = known.sorted()
        var message = "unknown \(kind) '\(id)'"
        if let best = closest(id, in: sorted) { message += "; did you mean '\(best)'?" }
        message += " Known: " + (sorted.isEmpty ? "none" : sorted.joined(separator: ", "))
        return ExplainError(.unknownName, message)
    }

    /// The known name the user most likely meant: the same name in other letter case, one that only adds a family prefix
    /// (`epsilon_plus` → `lrp.epsilon_plus`), else the one with the smallest edit distance among
    /// those reasonably close (within a third of the name's length, at least 2).
    public static func closest(_ id: String, in names: [String]) -> String? {
        let query = id.lowercased()
        if let same = names.first(where: { $0.lowercased() == query }) { return same }
        if let prefixed = names.filter({ $0.lowercased().hasSuffix("." + query) }).min(by: { ($0.count, $0) < ($1.count, $1) }) {
            return prefixed
        }
        let close = names.map { ($0, editDistance(query, $0.lowercased())) }.filter { $0.1 <= max(2, $0.0.count / 3) }
        return close.min(by: { ($0.1, $0.0) < ($1.1, $1.0) })?.0
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let x = Array(a), y = Array(b)
        if x.isEmpty { return y.count }
        var prev = Array(0...y.count)
        for i in 1...x.count {
            var cur = [i] + [Int](repeating: 0, count: y.count)
            for j in stride(from: 1, through: y.count, by: 1) {
                cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x[i - 1] == y[j - 1] ? 0 : 1))
            }
            prev = cur
        }
        return prev[y.count]
    }
}

/// A family module's registration hook: one per module, called once at startup.
public protocol Plugin {
    static func register(into registry: inout Registry) throws
}

/// Startup: builds the registry from the plugins, once per process.
public enum ExplainSystem {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var current: Registry?

    /// Registers every plugin into a fresh registry, keeps it as the process registry, and returns it.
    /// A second call throws; tests should build their own `Registry` instead.
    @discardableResult
    public static func bootstrap(_ plugins: [any Plugin.Type]) throws -> Registry {
        lock.lock()
        defer { lock.unlock() }
        guard current == nil else { throw ExplainError(.invalidArgument, "ExplainSystem.bootstrap was already called") }
        var registry = Registry()
        for p in plugins { try p.register(into: &registry) }
        current = registry
        return registry
    }

    /// The registry built by `bootstrap` (nil before it).
    public static var registry: Registry? {
        lock.lock()
        defer { lock.unlock() }
        return current
    }
}
