import Foundation

/// Analyzer parameters given as text (`--set key=value`), with typed, validated access.
public struct Options: Sendable, CustomStringConvertible {
    public var values: [String: String]
    /// Arrays given for keys whose text is `file:PATH.npy` (loaded by the caller that can read
    /// files: the CLI, the conformance runner), e.g. feature groups or a baseline image.
    public var tensors: [String: Tensor] = [:]

    /// The keys whose value names a file (`file:…`), with the path.
    public var files: [(key: String, path: String)] {
        values.keys.sorted().compactMap { k in values[k].flatMap { $0.hasPrefix("file:") ? (k, String($0.dropFirst(5))) : nil } }
    }

    /// The options whose keys satisfy `keep`, with their arrays.
    public func filter(_ keep: (String) -> Bool) -> Options {
        var o = Options(values.filter { keep($0.key) })
        o.tensors = tensors.filter { keep($0.key) }
        return o
    }

    /// The array given for `key`; nil when the key is absent. A `file:` value that was not loaded
    /// is an error naming the key.
    public func tensor(_ key: String) throws -> Tensor? {
        if let t = tensors[key] { return t }
        if let v = values[key], v.hasPrefix("file:") {
            throw ExplainError(.invalidArgument, "\(key) = \(v): the file was not loaded (arrays from files are read by `explain attribute` and the conformance runner)")
        }
        return nil
    }

    public init(_ values: [String: String] = [:]) { self.values = values }

    /// Parses `key=value` items.
    public init(parsing items: [String]) throws {
        var v: [String: String] = [:]
        for item in items {
            guard let eq = item.firstIndex(of: "="), eq != item.startIndex else {
                throw ExplainError(.invalidArgument, "'\(item)' is not key=value (e.g. --set noise_level=0.2)")
            }
            v[String(item[..<eq]).trimmingCharacters(in: .whitespaces)] = String(item[item.index(after: eq)...]).trimmingCharacters(in: .whitespaces)
        }
        self.values = v
    }

    public var description: String { values.keys.sorted().map { "\($0)=\(values[$0]!)" }.joined(separator: " ") }

    public func string(_ key: String, default value: String) -> String { values[key] ?? value }

    public func double(_ key: String, default value: Double, range: ClosedRange<Double>? = nil) throws -> Double {
        guard let text = values[key] else { return value }
        guard let v = Double(text), v.isFinite else {
            throw ExplainError(.invalidArgument, "\(key) = '\(text)' is not a number")
        }
        if let range, !range.contains(v) {
            throw ExplainError(.invalidArgument, "\(key) = \(text) is outside \(range.lowerBound)…\(range.upperBound)")
        }
        return v
    }

    public func int(_ key: String, default value: Int, range: ClosedRange<Int>? = nil) throws -> Int {
        guard let text = values[key] else { return value }
        guard let v = Int(text) else { throw ExplainError(.invalidArgument, "\(key) = '\(text)' is not an integer") }
        if let range, !range.contains(v) {
            throw ExplainError(.invalidArgument, "\(key) = \(text) is outside \(range.lowerBound)…\(range.upperBound)")
        }
        return v
    }

    /// A yes/no option: true/false, 1/0, yes/no (any letter case).
    public func bool(_ key: String, default value: Bool) throws -> Bool {
        guard let text = values[key] else { return value }
        switch text.lowercased() {
        case "true", "1", "yes": return true
        case "false", "0", "no": return false
        default: throw ExplainError(.invalidArgument, "\(key) = '\(text)': use true or false")
        }
    }

    public func list(_ key: String) -> [String] {
        values[key].map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } } ?? []
    }
}

/// A documented analyzer parameter.
public struct Parameter: Sendable {
    public var name: String
    public var defaultValue: String
    public var summary: String
    public init(_ name: String, default defaultValue: String, _ summary: String) {
        self.name = name
        self.defaultValue = defaultValue
        self.summary = summary
    }
}
