import ExplainCore
import Foundation

/// Typed access to a node's attributes; every failure names the node and attribute.
struct Attributes {
    let map: [String: Onnx_AttributeProto]
    let node: String
    let op: String

    init(_ node: Onnx_NodeProto, name: String) {
        var m: [String: Onnx_AttributeProto] = [:]
        for a in node.attribute { m[a.name] = a }
        self.map = m
        self.node = name
        self.op = node.opType
    }

    func error(_ code: ExplainError.Code, _ message: String) -> ExplainError {
        ExplainError(code, message, node: node, op: op)
    }

    func has(_ name: String) -> Bool { map[name] != nil }

    func int(_ name: String, default value: Int) throws -> Int {
        guard let a = map[name] else { return value }
        guard a.type == 0 || a.type == 2 else { throw error(.malformedFile, "attribute '\(name)' is not an integer") }
        guard let v = Int(exactly: a.i) else { throw error(.malformedFile, "attribute '\(name)' is out of range") }
        return v
    }

    func float(_ name: String, default value: Float) throws -> Float {
        guard let a = map[name] else { return value }
        guard a.type == 0 || a.type == 1 else { throw error(.malformedFile, "attribute '\(name)' is not a float") }
        return a.f
    }

    /// A list of integers; sizes, strides and pads must stay below 2^40, `bounded: false` takes any
    /// int64 (a Constant's `value_ints`, where INT64_MAX marks "to the end" of a slice, as in tensors).
    func ints(_ name: String, bounded: Bool = true) throws -> [Int]? {
        guard let a = map[name] else { return nil }
        guard a.type == 0 || a.type == 7 else { throw error(.malformedFile, "attribute '\(name)' is not a list of integers") }
        return try a.ints.map {
            guard let v = Int(exactly: $0), !bounded || (v > -(1 << 40) && v < 1 << 40) else { throw error(.malformedFile, "attribute '\(name)' value \($0) is out of range") }
            return v
        }
    }

    func floats(_ name: String) throws -> [Float]? {
        guard let a = map[name] else { return nil }
        guard a.type == 0 || a.type == 6 else { throw error(.malformedFile, "attribute '\(name)' is not a list of floats") }
        return a.floats
    }

    func string(_ name: String) throws -> String? {
        guard let a = map[name] else { return nil }
        guard a.type == 0 || a.type == 3 else { throw error(.malformedFile, "attribute '\(name)' is not a string") }
        return String(decoding: a.s, as: UTF8.self)
    }

    func tensor(_ name: String) -> Onnx_TensorProto? {
        guard let a = map[name], a.hasT else { return nil }
        return a.t
    }

    /// Throws for an attribute whose value this importer cannot honour.
    func unsupported(_ name: String, _ value: CustomStringConvertible, _ hint: String) -> ExplainError {
        error(.unsupportedAttribute, "\(name) = \(value) is not supported; \(hint)")
    }
}
