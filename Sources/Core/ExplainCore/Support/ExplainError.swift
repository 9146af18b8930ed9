/// The one error type of ExplainKit: a growable code, where it happened and what to do.
///
/// Every user-facing failure (bad model file, wrong shape, unknown option) is thrown as an
/// `ExplainError`. Its `description` reads like
/// `unsupported operator: node '/decoder/Resize_3' (Resize) in model.onnx: supported operators are …`.
public struct ExplainError: Error, CustomStringConvertible, Sendable, Equatable {
    /// A stable, growable error code (a struct, not an enum, so that plugins can add their own).
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// Tensor shapes do not fit together (wrong input shape, broadcast failure, …).
        public static let shapeMismatch = Code(rawValue: "shape mismatch")
        /// A value (option, attribute, argument) is outside its valid range.
        public static let invalidArgument = Code(rawValue: "invalid argument")
        /// The model uses an operator that ExplainKit does not implement.
        public static let unsupportedOperator = Code(rawValue: "unsupported operator")
        /// An operator is known but one of its attribute values is not supported.
        public static let unsupportedAttribute = Code(rawValue: "unsupported attribute")
        /// A file could not be decoded (truncated, garbage, wrong format).
        public static let malformedFile = Code(rawValue: "malformed file")
        /// A value, initializer or node referenced by name does not exist.
        public static let missingValue = Code(rawValue: "missing value")
        /// A declared tensor or requested allocation is larger than the configured limit.
        public static let tooLarge = Code(rawValue: "too large")
        /// An element type that the operation cannot handle.
        public static let unsupportedDataType = Code(rawValue: "unsupported data type")
        /// Reading or writing a file failed.
        public static let io = Code(rawValue: "i/o error")
        /// A name (method, rule, preset) is not registered.
        public static let unknownName = Code(rawValue: "unknown name")
        /// A computation produced NaN or infinity.
        public static let nonFinite = Code(rawValue: "non-finite value")
    }

    public var code: Code
    public var message: String
    /// The file concerned, if any.
    public var file: String?
    /// The graph node concerned, if any.
    public var node: String?
    /// The operator (ONNX op type or layer kind) concerned, if any.
    public var op: String?

    public init(_ code: Code, _ message: String, file: String? = nil, node: String? = nil, op: String? = nil) {
        self.code = code
        self.message = message
        self.file = file
        self.node = node
        self.op = op
    }

    public var description: String {
        var location = ""
        if let node { location += " at node '\(node)'" + (op.map { " (\($0))" } ?? "") } else if let op {
            location += " at op \(op)"
        }
        if let file { location += " in \(file)" }
        return "\(code)\(location): \(message)"
    }

    /// Returns a copy with the node (and op) filled in where they are still empty.
    public func at(node: String, op: String) -> ExplainError {
        var copy = self
        if copy.node == nil { copy.node = node }
        if copy.op == nil { copy.op = op }
        return copy
    }

    /// Returns a copy with the file filled in where it is still empty.
    public func inFile(_ file: String) -> ExplainError {
        var copy = self
        if copy.file == nil { copy.file = file }
        return copy
    }
}

extension ExplainError {
    /// A `shapeMismatch` error.
    public static func shape(_ message: String) -> ExplainError { ExplainError(.shapeMismatch, message) }
    /// An `invalidArgument` error.
    public static func argument(_ message: String) -> ExplainError { ExplainError(.invalidArgument, message) }
}
