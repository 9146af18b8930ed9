import ExplainCore

/// Parses the Python dict literal of an `.npy` header (string keys; string, bool or int-tuple values).
enum HeaderParser {
    enum Value: Equatable {
        case string(String)
        case bool(Bool)
        case tuple([Int])
    }

    static func parse(_ text: String, file: String) throws -> [String: Value] {
        var s = Substring(text)
        func fail(_ m: String) -> ExplainError { ExplainError(.malformedFile, "bad .npy header (\(m)): \(text.prefix(120))", file: file) }
        func skipSpace() { while let c = s.first, c.isWhitespace { s.removeFirst() } }
        func expect(_ c: Character) throws {
            skipSpace()
            guard s.first == c else { throw fail("expected '\(c)'") }
            s.removeFirst()
        }
        func string() throws -> String {
            skipSpace()
            guard let q = s.first, q == "'" || q == "\"" else { throw fail("expected a string") }
            s.removeFirst()
            guard let end = s.firstIndex(of: q) else { throw fail("unterminated string") }
            let v = String(s[..<end])
            s = s[s.index(after: end)...]
            return v
        }
        func value() throws -> Value {
            skipSpace()
            if s.first == "'" || s.first == "\"" { return .string(try string()) }
            if s.hasPrefix("True") { s.removeFirst(4); return .bool(true) }
            if s.hasPrefix("False") { s.removeFirst(5); return .bool(false) }
            if s.first == "(" {
                s.removeFirst()
                var dims: [Int] = []
                while true {
                    skipSpace()
                    if s.first == ")" { s.removeFirst(); break }
                    var digits = ""
                    while let c = s.first, c.isNumber || c == "-" { digits.append(c); s.removeFirst() }
                    if s.first == "L" { s.removeFirst() }
                    guard let d = Int(digits) else { throw fail("bad shape entry") }
                    dims.append(d)
                    skipSpace()
                    if s.first == "," { s.removeFirst() }
                }
                return .tuple(dims)
            }
            throw fail("unexpected value")
        }
        var dict: [String: Value] = [:]
        try expect("{")
        while true {
            skipSpace()
            if s.first == "}" { break }
            let key = try string()
            try expect(":")
            dict[key] = try value()
            skipSpace()
            if s.first == "," { s.removeFirst() }
            guard !s.isEmpty else { throw fail("unterminated dict") }
        }
        return dict
    }
}
