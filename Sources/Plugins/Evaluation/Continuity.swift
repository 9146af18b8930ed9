import ExplainCore

/// Continuity (Montavon, Samek & Müller 2018, "Methods for interpreting and understanding deep
/// neural networks"; Quantus `Continuity`): the image is shifted sideways by `steps` amounts from
/// −W + dx to −W + steps · dx pixels (dx = ⌊(2W + 1) / steps⌋; the columns shifted in take the fill
/// value) and the score is the largest `‖Φ(x) − Φ(x̃)‖₁ / (‖x − x̃‖₂ + 1e-9)` over the shifts,
/// explanations scaled per sample by their largest magnitude and made absolute. Lower: the
/// explanation changes less per change of the input. Explanations of the shifted images are
/// compared with the unshifted one where they stand, as Quantus does.
public struct Continuity: Sendable {
    public let steps: Int
    public let fill: FillValue

    public init(steps: Int = 28, fill: FillValue = .black) throws {
        guard steps >= 1, steps <= 10_000 else { throw ExplainError.argument("steps = \(steps): give 1…10000") }
        self.steps = steps
        self.fill = fill
    }

    /// The shifts in pixels (negative: to the left), for images `width` wide.
    public func shifts(width: Int) -> [Int] {
        let dx = (2 * width + 1) / steps
        return (1...steps).map { -width + $0 * dx }
    }

    /// Per sample: the largest ratio for `analyzer`'s explanations of `target` on images (N, C, H, W).
    public func evaluate(_ analyzer: any Analyzer, input: Tensor, target: Target) throws -> [Double] {
        guard input.rank == 4 else { throw ExplainError.shape("continuity shifts images (N, C, H, W); the input is \(Shape.format(input.shape))") }
        try input.requireFinite("the input")
        let base = try analyzer.analyze(input, target: target)
        let fixed = base.sameTargets(or: target)
        let a = Explained.rows(base.values, normalise: true, absolute: true), xs = Explained.rows(input, normalise: false, absolute: false)
        let (n, w) = (input.shape[0], input.shape[3]), per = input.count / max(n, 1)
        let fills = try input.withUnsafeBufferPointer { p in (0..<n).map { fill.value(for: UnsafeBufferPointer(rebasing: p[($0 * per)..<(($0 + 1) * per)])) } }
        var worst = [Double](repeating: -.infinity, count: n)
        for shift in shifts(width: w) {
            let moved = Tensor(shape: input.shape) { p in
                for i in 0..<p.count {
                    let column = i % w, from = column - shift
                    p[i] = from >= 0 && from < w ? input.scalars[i - shift] : fills[i / per]
                }
            }
            let b = Explained.rows(try Explained.explain(analyzer, moved, fixed, like: base.values), normalise: true, absolute: true)
            let ms = Explained.rows(moved, normalise: false, absolute: false)
            for s in 0..<n {
                let manhattan = zip(a[s], b[s]).reduce(0.0) { $0 + abs($1.0 - $1.1) }
                worst[s] = max(worst[s], manhattan / (Explained.distance(xs[s], ms[s]) + 1e-9))
            }
        }
        return worst
    }
}
