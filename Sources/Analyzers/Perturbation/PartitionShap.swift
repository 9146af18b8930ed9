import ExplainCore

/// shap's Partition explainer on images (`shap.explainers.Partition` with `shap.maskers.Image`;
/// Lundberg et al.'s hierarchical Owen values): the image's elements are grouped by a binary
/// hierarchy of boxes — each box split in half along its longer spatial side, channels last —
/// and the explained output's change is shared down the hierarchy. A node's effect `f(S ∪ node) −
/// f(S)` is measured with both halves, its children are queued in both contexts (all of the
/// sibling absent, all present; weight halved), largest `|Δf| · weight` first, until `maxEvals`
/// forward passes are spent; what is left at an unexpanded node goes to its elements in
/// proportion to their count. With enough evaluations the values are the Owen values of the
/// hierarchy; they always sum to `f_t(x) − f_t(masked image)`.
///
/// Absent elements take the mask value: a number, or `blur(kw,kh)`, OpenCV's normalised box
/// filter of the image (`cv2.blur`, border mirrored without repeating the edge). The hierarchy,
/// the queue order, the batching of the queue (`batchSize` pops per evaluation round, shap's
/// default 10) and the budget follow shap 0.51 exactly; queue entries of equal priority are taken
/// in the order they were queued (shap breaks such ties at random).
public struct PartitionShap: SplitsItsOwnBatches {
    public enum MaskValue: Sendable, Equatable {
        case value(Float)
        case blur(width: Int, height: Int)
    }

    public let id = "partition_shap"
    public let scorer: Scorer
    public let maskValue: MaskValue
    public let maxEvals: Int
    public let batchSize: Int
    /// shap's `fixed_context`: nil (both contexts, Owen values), 0 or 1.
    public let fixedContext: Int?

    public init(model: ExplainableModel, maskValue: MaskValue = .value(0), maxEvals: Int = 500, batchSize: Int = 10, fixedContext: Int? = nil,
                evaluationBatch: Int = 64) throws {
        guard maxEvals >= 3 else { throw ExplainError.argument("max_evals = \(maxEvals): give at least 3 (two go to the unmasked and the fully masked image)") }
        guard batchSize >= 1 else { throw ExplainError.argument("batch_size = \(batchSize): give 1 or more") }
        if let fixedContext, fixedContext != 0 && fixedContext != 1 { throw ExplainError.argument("fixed_context = \(fixedContext): use 0, 1 or none") }
        if case .blur(let w, let h) = maskValue, w < 1 || h < 1 { throw ExplainError.argument("blur(\(w),\(h)): give kernel sides ≥ 1") }
        self.scorer = Scorer(model: model, batchSize: evaluationBatch)
        self.maskValue = maskValue
        self.maxEvals = maxEvals
        self.batchSize = batchSize
        self.fixedContext = fixedContext
    }

    /// Parses a mask value: a number or `blur(w,h)`.
    public static func parseMask(_ text: String) throws -> MaskValue {
        if text.hasPrefix("blur("), text.hasSuffix(")") {
            let sides = text.dropFirst(5).dropLast().split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard sides.count == 2, let w = sides[0], let h = sides[1] else { throw ExplainError.argument("mask = '\(text)': write blur(WIDTH,HEIGHT), e.g. blur(16,16)") }
            return .blur(width: w, height: h)
        }
        guard let v = Float(text), v.isFinite else { throw ExplainError.argument("mask = '\(text)': give a number or blur(WIDTH,HEIGHT)") }
        return .value(v)
    }

    public func analyze(_ input: Tensor, target: Target) throws -> Attribution {
        guard input.rank == 4 else { throw ExplainError.shape("partition_shap needs images (N, C, H, W); the input is \(Shape.format(input.shape))") }
        let (n, c, h, w) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
        let (output, seed, picked) = try scorer.model.cleanPass(input, target: target)
        let m = c * h * w
        guard m > 0 else { throw ExplainError.shape("partition_shap needs images with at least one element; the input is \(Shape.format(input.shape))") }
        let tree = Self.imageTree(height: h, width: w, channels: c)
        let layout = Self.leafLayout(tree: tree, features: m)
        // Features are the elements in shap's (H, W, C) order; `chw` maps one to its tensor index.
        let chw = layout.order.map { f in (Int(f) % c) * h * w + Int(f) / c }
        var values = [Float](repeating: 0, count: input.count)
        for s in 0..<n {
            let sample = Array(input.scalars[(s * m)..<((s + 1) * m)])
            let x = (0..<m).map { f in sample[(f % c) * h * w + (f / c)] }
            let hwc = masked(x, height: h, width: w, channels: c)
            var background = [Float](repeating: 0, count: m)
            for f in 0..<m { background[(f % c) * h * w + f / c] = hwc[f] }
            let phi = try owen(tree: tree, features: m) { present in
                try scorer.scores(count: present.count, sampleShape: [c, h, w], seed: seed, sample: s) { k, out in
                    background.withUnsafeBufferPointer { out.baseAddress!.update(from: $0.baseAddress!, count: m) }
                    for node in present[k] {
                        let start = layout.start[node]
                        for j in start..<(start + layout.size[node]) { let d = chw[j]; out[d] = sample[d] }
                    }
                }
            }
            for f in 0..<m { values[s * m + (f % c) * h * w + f / c] = Float(phi[f]) }
        }
        return Attribution(values: try Tensor(shape: input.shape, scalars: values), output: output, targets: picked)
    }

    /// The fully masked image in (H, W, C) order.
    func masked(_ x: [Float], height h: Int, width w: Int, channels c: Int) -> [Float] {
        switch maskValue {
        case .value(let v): return [Float](repeating: v, count: x.count)
        case .blur(let kw, let kh):
            // cv2.blur: anchor at the kernel's centre (k/2), BORDER_REFLECT_101.
            func mirror(_ i: Int, _ n: Int) -> Int {
                guard n > 1 else { return 0 }
                var j = i
                while j < 0 || j >= n { j = j < 0 ? -j : 2 * (n - 1) - j }
                return j
            }
            // Separable: window sums along the rows, then down the columns, each slid by one
            // element (in Double, where sums of image values are exact in any order).
            var rows = [Double](repeating: 0, count: x.count)
            for y in 0..<h { for ch in 0..<c {
                let at = { (xx: Int) in Double(x[(y * w + mirror(xx, w)) * c + ch]) }
                var sum = 0.0
                for dx in 0..<kw { sum += at(dx - kw / 2) }
                for xx in 0..<w {
                    rows[(y * w + xx) * c + ch] = sum
                    sum += at(xx + kw - kw / 2) - at(xx - kw / 2)
                }
            } }
            var out = [Float](repeating: 0, count: x.count)
            for xx in 0..<w { for ch in 0..<c {
                let at = { (y: Int) in rows[(mirror(y, h) * w + xx) * c + ch] }
                var sum = 0.0
                for dy in 0..<kh { sum += at(dy - kh / 2) }
                for y in 0..<h {
                    out[(y * w + xx) * c + ch] = Float(sum / Double(kw * kh))
                    sum += at(y + kh - kh / 2) - at(y - kh / 2)
                }
            } }
            return out
        }
    }

    /// A node of the hierarchy: children and element count (shap's clustering rows).
    public struct Node: Sendable, Equatable {
        public var left: Int, right: Int, size: Int
    }

    /// shap's `Image` masker hierarchy over an (H, W, C) image of M elements: M − 1 internal nodes
    /// with ids M…2M−2 (the root last); boxes are split in order of decreasing size (ties by their
    /// corners), each at half its longer spatial side (rows first on ties), channels only when one
    /// pixel is left; leaves get the ids shap gives them.
    public static func imageTree(height h: Int, width w: Int, channels c: Int) -> [Node] {
        let m = h * w * c
        guard m > 1 else { return [] }
        // shap pops the boxes from a heap keyed by (−size, corners); a child is always smaller than
        // its parent, so the pop order is the sorted order of all boxes, and the k-th box popped
        // gets the id 2M − 2 − k.
        var boxes = [Box(x0: 0, x1: h, y0: 0, y1: w, z0: 0, z1: c, parent: -1, isLeft: false)]
        boxes.reserveCapacity(2 * m - 1)
        var next = 0
        while next < boxes.count {
            let b = boxes[next]
            let (xw, yw, zw) = (b.x1 - b.x0, b.y1 - b.y0, b.z1 - b.z0)
            if xw > 1 || yw > 1 || zw > 1 {
                var l = b, r = b
                if xw >= yw && xw > 1 { l.x1 = b.x0 + xw / 2; r.x0 = l.x1 }
                else if yw > 1 { l.y1 = b.y0 + yw / 2; r.y0 = l.y1 }
                else { l.z1 = b.z0 + zw / 2; r.z0 = l.z1 }
                (l.parent, l.isLeft, r.parent, r.isLeft) = (next, true, next, false)
                boxes.append(l)
                boxes.append(r)
            }
            next += 1
        }
        var rank = Array(0..<boxes.count)
        rank.sort { Box.before(boxes[$0], boxes[$1]) }
        var id = [Int](repeating: 0, count: boxes.count)
        for (k, index) in rank.enumerated() { id[index] = 2 * m - 2 - k }
        var nodes = [Node](repeating: Node(left: 0, right: 0, size: 0), count: m - 1)
        for (index, b) in boxes.enumerated() where b.parent >= 0 {
            let parent = id[b.parent] - m
            if b.isLeft { nodes[parent].left = id[index] } else { nodes[parent].right = id[index] }
        }
        for i in 0..<(m - 1) {
            let l = nodes[i].left, r = nodes[i].right
            nodes[i].size = (l < m ? 1 : nodes[l - m].size) + (r < m ? 1 : nodes[r - m].size)
        }
        return nodes
    }

    /// The hierarchical Owen values of the features (shap's `owen` and `lower_credit`), with
    /// `evaluate` giving `f_t` for a batch of coalitions, each given by the nodes that are present
    /// (leaves are features 0…M−1, the root is 2M−2).
    func owen(tree: [Node], features m: Int, evaluate: ([[Int]]) throws -> [Double]) throws -> [Double] {
        guard m > 1 else {
            let f = try evaluate([[], [0]])
            return [f[1] - f[0]]
        }
        let ends = try evaluate([[], [2 * m - 2]])
        var dvalues = [Double](repeating: 0, count: 2 * m - 1)
        // Queue entries: the present nodes (a context), f00, f11, node, weight.
        struct Item { var context: [Int]; var f00: Double; var f11: Double; var node: Int; var weight: Double }
        var queue = Heap<(priority: Double, order: Int, item: Item)>({ ($0.priority, $0.order) < ($1.priority, $1.order) })
        var order = 0
        queue.push((0, order, Item(context: [], f00: ends[0], f11: ends[1], node: 2 * m - 2, weight: 1)))
        let budget = maxEvals - 2
        var evals = 0
        while !queue.isEmpty {
            if evals >= budget {
                while let e = queue.pop() { dvalues[e.item.node] += (e.item.f11 - e.item.f00) * e.item.weight }
                break
            }
            var work: [(Item, Int, Int)] = [], masks: [[Int]] = []
            while !queue.isEmpty, masks.count < batchSize, evals + masks.count < budget, let e = queue.pop() {
                let it = e.item
                guard it.node >= m else { dvalues[it.node] += (it.f11 - it.f00) * it.weight; continue }
                let l = tree[it.node - m].left, r = tree[it.node - m].right
                work.append((it, l, r))
                masks.append(it.context + [l])
                masks.append(it.context + [r])
            }
            let f = masks.isEmpty ? [] : try evaluate(masks)
            evals += masks.count
            for (k, (it, l, r)) in work.enumerated() {
                let (f10, f01) = (f[2 * k], f[2 * k + 1])
                var weight = it.weight
                switch fixedContext {
                case nil: weight /= 2
                case 0?: dvalues[it.node] += (it.f11 - f10 - f01 + it.f00) * it.weight
                default: dvalues[it.node] -= (it.f11 - f10 - f01 + it.f00) * it.weight
                }
                func put(_ context: [Int], _ f00: Double, _ f11: Double, _ node: Int) {
                    order += 1
                    queue.push((-abs(f11 - f00) * weight, order, Item(context: context, f00: f00, f11: f11, node: node, weight: weight)))
                }
                if fixedContext == nil || fixedContext == 0 {
                    put(it.context, it.f00, f10, l)
                    put(it.context, it.f00, f01, r)
                }
                if fixedContext == nil || fixedContext == 1 {
                    put(it.context + [r], f01, it.f11, l)
                    put(it.context + [l], f10, it.f11, r)
                }
            }
        }
        // lower_credit: every node's value shared down in proportion to the children's sizes.
        var values = dvalues
        for i in stride(from: 2 * m - 2, through: m, by: -1) {
            let node = tree[i - m]
            let ls = node.left < m ? 1 : tree[node.left - m].size, rs = node.right < m ? 1 : tree[node.right - m].size
            let share = values[i]
            values[node.left] += share * Double(ls) / Double(node.size)
            values[node.right] += share * Double(rs) / Double(node.size)
        }
        return Array(values[0..<m])
    }
}

extension PartitionShap {
    /// A box of the image hierarchy under construction: rows x0..<x1, columns y0..<y1, channels
    /// z0..<z1, and the index of the box it was split from.
    struct Box {
        var x0: Int, x1: Int, y0: Int, y1: Int, z0: Int, z1: Int
        var parent: Int, isLeft: Bool
        var size: Int { (x1 - x0) * (y1 - y0) * (z1 - z0) }

        /// shap's heap order: larger boxes first, then by their corners.
        static func before(_ a: Box, _ b: Box) -> Bool {
            let (sa, sb) = (a.size, b.size)
            if sa != sb { return sa > sb }
            return (a.x0, a.x1, a.y0, a.y1, a.z0, a.z1) < (b.x0, b.x1, b.y0, b.y1, b.z0, b.z1)
        }
    }

    /// The leaves in depth-first order (left before right), so that the features under every
    /// node are the contiguous run `order[start[node] ..< start[node] + size[node]]`.
    struct LeafLayout {
        var order: [Int32], start: [Int], size: [Int]
    }

    /// Lays out the leaves of `tree` (children have smaller ids than their parent).
    static func leafLayout(tree: [Node], features m: Int) -> LeafLayout {
        guard m > 0 else { return LeafLayout(order: [], start: [], size: []) }
        var layout = LeafLayout(order: [], start: [Int](repeating: 0, count: 2 * m - 1), size: [Int](repeating: 1, count: 2 * m - 1))
        layout.order.reserveCapacity(m)
        var stack = [2 * m - 2]
        while let node = stack.popLast() {
            if node < m {
                layout.start[node] = layout.order.count
                layout.order.append(Int32(node))
            } else {
                stack.append(tree[node - m].right)
                stack.append(tree[node - m].left)
            }
        }
        for i in 0..<tree.count {
            layout.start[m + i] = layout.start[tree[i].left]
            layout.size[m + i] = layout.size[tree[i].left] + layout.size[tree[i].right]
        }
        return layout
    }
}

/// A binary min-heap ordered by `before`.
struct Heap<Element> {
    private var items: [Element] = []
    private let before: (Element, Element) -> Bool
    init(_ before: @escaping (Element, Element) -> Bool) { self.before = before }
    var isEmpty: Bool { items.isEmpty }
    mutating func push(_ e: Element) {
        items.append(e)
        var i = items.count - 1
        while i > 0 {
            let p = (i - 1) / 2
            guard before(items[i], items[p]) else { break }
            items.swapAt(i, p)
            i = p
        }
    }
    mutating func pop() -> Element? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var best = i
                if l < items.count, before(items[l], items[best]) { best = l }
                if r < items.count, before(items[r], items[best]) { best = r }
                guard best != i else { break }
                items.swapAt(i, best)
                i = best
            }
        }
        return top
    }
}
