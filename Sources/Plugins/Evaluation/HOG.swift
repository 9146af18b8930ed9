import ExplainCore
import Foundation

/// Histograms of oriented gradients (Dalal & Triggs 2005) with scikit-image's conventions
/// (`skimage.feature.hog`): central-difference gradients (0 on the border rows/columns), unsigned
/// orientations in [0°, 180°) binned without interpolation, each cell's histogram the sum of its
/// pixels' magnitudes divided by the cell's area (only whole cells), blocks of cells normalised by
/// L2-Hys (L2 with ε = 1e-5, clipped at 0.2, L2 again), all blocks concatenated. Adebayo et al.
/// compare explanations by the Pearson correlation of their HOG features.
public struct HOG: Sendable {
    public let orientations: Int
    /// Pixels per cell (square).
    public let cell: Int
    /// Cells per block (square).
    public let block: Int

    public init(orientations: Int = 9, cell: Int = 8, block: Int = 3) throws {
        guard orientations >= 1, orientations <= 360 else { throw ExplainError.argument("orientations = \(orientations): give 1…360") }
        guard cell >= 1, block >= 1, cell <= 1 << 20, block <= 1 << 10 else {
            throw ExplainError.argument("cell = \(cell), block = \(block): give sizes from 1 to 2^20 pixels per cell and 2^10 cells per block")
        }
        self.orientations = orientations
        self.cell = cell
        self.block = block
    }

    /// The smallest map side this HOG accepts (one block).
    public var minimumSide: Int { cell * block }

    /// The feature vector of an `height × width` map (row-major), or nil when the map is smaller
    /// than one block.
    public func features(_ map: [Double], height h: Int, width w: Int) -> [Double]? {
        guard map.count == h * w, h >= minimumSide, w >= minimumSide else { return nil }
        let (cellsRow, cellsCol) = (h / cell, w / cell)
        var histogram = [Double](repeating: 0, count: cellsRow * cellsCol * orientations)
        let binWidth = 180 / Double(orientations)
        for r in 0..<(cellsRow * cell) {
            for c in 0..<(cellsCol * cell) {
                let gr = r == 0 || r == h - 1 ? 0 : map[(r + 1) * w + c] - map[(r - 1) * w + c]
                let gc = c == 0 || c == w - 1 ? 0 : map[r * w + c + 1] - map[r * w + c - 1]
                // Python's `% 180`: fmod, moved into [0, 180) for negative values (which may round to 180).
                var angle = fmod(atan2(gr, gc) * 180 / .pi, 180)
                if angle < 0 { angle += 180 }
                // Bin i holds [i·w, (i+1)·w); an angle that rounds to 180 falls in none (as skimage).
                let bin = Int((angle / binWidth).rounded(.down))
                guard bin >= 0, bin < orientations, angle >= Double(bin) * binWidth, angle < Double(bin + 1) * binWidth else { continue }
                histogram[((r / cell) * cellsCol + c / cell) * orientations + bin] += (gr * gr + gc * gc).squareRoot()
            }
        }
        let area = Double(cell * cell)
        for i in histogram.indices { histogram[i] /= area }
        var out: [Double] = []
        out.reserveCapacity((cellsRow - block + 1) * (cellsCol - block + 1) * block * block * orientations)
        let eps = 1e-5
        for br in 0...(cellsRow - block) {
            for bc in 0...(cellsCol - block) {
                var values: [Double] = []
                for r in br..<(br + block) {
                    for c in bc..<(bc + block) { values += histogram[((r * cellsCol) + c) * orientations..<((r * cellsCol) + c + 1) * orientations] }
                }
                var norm = (values.reduce(0) { $0 + $1 * $1 } + eps * eps).squareRoot()
                values = values.map { min($0 / norm, 0.2) }
                norm = (values.reduce(0) { $0 + $1 * $1 } + eps * eps).squareRoot()
                out += values.map { $0 / norm }
            }
        }
        return out
    }
}

extension Similarity {
    /// Per sample of two (N, C, H, W) attributions: the Pearson correlation of the HOG features of
    /// their channel sums, each min-max scaled to [0, 1]; nil for other ranks or maps smaller than
    /// one HOG block.
    public static func hogPerSample(_ a: Tensor, _ b: Tensor, hog: HOG) -> [Double]? {
        guard a.rank == 4, a.shape == b.shape, a.shape[2] >= hog.minimumSide, a.shape[3] >= hog.minimumSide else { return nil }
        let (h, w) = (a.shape[2], a.shape[3])
        var out = [Double]()
        for s in 0..<a.shape[0] {
            guard let fa = hog.features(scaledMap(a, sample: s), height: h, width: w),
                  let fb = hog.features(scaledMap(b, sample: s), height: h, width: w) else { return nil }
            out.append(pearson(fa, fb))
        }
        return out
    }
}
