import CStb
import ExplainCore

/// An RGB drawing surface for grids: blit images, fill rectangles, draw text with the built-in
/// stb_easy_font glyphs (no font files), scaled by pixel replication.
public struct Canvas: Sendable {
    public private(set) var image: Image

    public init(width: Int, height: Int, background: UInt8 = 255) throws {
        guard width > 0, height > 0, width * height <= Image.maxPixels else {
            throw ExplainError(.invalidArgument, "canvas \(width)×\(height) is not a valid size")
        }
        image = Image(validWidth: width, height: height, channels: 3, pixels: [UInt8](repeating: background, count: width * height * 3))
    }

    public mutating func fill(x: Int, y: Int, width: Int, height: Int, color: (UInt8, UInt8, UInt8)) {
        let x0 = max(0, x), y0 = max(0, y), x1 = min(image.width, x + width), y1 = min(image.height, y + height)
        guard x0 < x1, y0 < y1 else { return }
        for yy in y0..<y1 {
            for xx in x0..<x1 {
                let p = (yy * image.width + xx) * 3
                image.pixels[p] = color.0; image.pixels[p + 1] = color.1; image.pixels[p + 2] = color.2
            }
        }
    }

    /// Copies an image (any channel count) with its top-left corner at (x, y), clipped.
    public mutating func draw(_ src: Image, x: Int, y: Int) {
        let rgb = src.rgb
        for yy in 0..<rgb.height where y + yy >= 0 && y + yy < image.height {
            for xx in 0..<rgb.width where x + xx >= 0 && x + xx < image.width {
                let d = ((y + yy) * image.width + x + xx) * 3, s = (yy * rgb.width + xx) * 3
                image.pixels[d] = rgb.pixels[s]; image.pixels[d + 1] = rgb.pixels[s + 1]; image.pixels[d + 2] = rgb.pixels[s + 2]
            }
        }
    }

    /// The size of `text` at `scale` (stb_easy_font glyphs are about 6 × 7 pixels at scale 1).
    public static func textSize(_ text: String, scale: Int = 1) -> (width: Int, height: Int) {
        (Int(explain_text_width(text)) * scale, 8 * scale)
    }

    /// Draws `text` with its top-left corner at (x, y).
    public mutating func text(_ text: String, x: Int, y: Int, scale: Int = 1, color: (UInt8, UInt8, UInt8) = (0, 0, 0)) {
        let ascii = String(text.unicodeScalars.map { $0.isASCII ? Character($0) : "?" })
        var rects = [Float](repeating: 0, count: 4 * 4096)
        let n = Int(explain_text_rects(ascii, &rects, 4096))
        for q in 0..<n {
            let x0 = Int(rects[q * 4].rounded()), y0 = Int(rects[q * 4 + 1].rounded())
            let x1 = Int(rects[q * 4 + 2].rounded()), y1 = Int(rects[q * 4 + 3].rounded())
            fill(x: x + x0 * scale, y: y + y0 * scale, width: (x1 - x0) * scale, height: (y1 - y0) * scale, color: color)
        }
    }
}

/// The comparison grid: inputs down the side, methods across the top, one heatmap per cell.
public struct GridLayout: Sendable {
    public var cell: Int
    public var gap: Int = 6
    public var labelScale: Int = 2

    public init(cell: Int = 96, gap: Int = 6, labelScale: Int = 2) {
        self.cell = cell
        self.gap = gap
        self.labelScale = labelScale
    }

    /// One row: its label lines and one image per column (each `cell × cell`, resized by the caller).
    public struct Row: Sendable {
        public var label: [String]
        public var cells: [Image]
        public init(label: [String], cells: [Image]) {
            self.label = label
            self.cells = cells
        }
    }

    /// Characters per header line so that a column label fits its cell.
    var headerChars: Int { max(4, (cell + gap) / (6 * labelScale)) }

    public func headerHeight(_ columns: [String]) -> Int {
        9 * labelScale * (columns.map { Self.wrap($0, limit: headerChars).count }.max() ?? 1) + 2 * gap
    }

    public func labelWidth(_ rows: [Row]) -> Int {
        (rows.flatMap(\.label).map { Canvas.textSize($0, scale: labelScale).width }.max() ?? 0) + 2 * gap
    }

    /// Splits a label into lines of at most `limit` characters, at its own line breaks and
    /// otherwise preferring breaks after `.` and `_`.
    public static func wrap(_ s: String, limit: Int) -> [String] {
        if s.contains("\n") { return s.split(separator: "\n", omittingEmptySubsequences: false).flatMap { wrap(String($0), limit: limit) } }
        var lines: [String] = []
        var rest = Substring(s)
        while rest.count > limit {
            let window = rest.prefix(limit)
            let cut = window.lastIndex { $0 == "." || $0 == "_" }.map { rest.index(after: $0) } ?? window.endIndex
            lines.append(String(rest[..<cut]))
            rest = rest[cut...]
        }
        if !rest.isEmpty || lines.isEmpty { lines.append(String(rest)) }
        return lines
    }

    public func render(rows: [Row], columns: [String]) throws -> Image {
        guard !rows.isEmpty, !columns.isEmpty, rows.allSatisfy({ $0.cells.count == columns.count }) else {
            throw ExplainError(.invalidArgument, "a grid needs rows with one image per column")
        }
        let left = labelWidth(rows), top = headerHeight(columns)
        var canvas = try Canvas(width: left + columns.count * (cell + gap) + gap, height: top + rows.count * (cell + gap) + gap)
        for (c, name) in columns.enumerated() {
            for (k, line) in Self.wrap(name, limit: headerChars).enumerated() {
                canvas.text(line, x: left + c * (cell + gap), y: gap + k * 9 * labelScale, scale: labelScale)
            }
        }
        for (r, row) in rows.enumerated() {
            let y = top + r * (cell + gap)
            for (k, line) in row.label.enumerated() { canvas.text(line, x: gap, y: y + k * 9 * labelScale, scale: labelScale) }
            for (c, img) in row.cells.enumerated() { canvas.draw(img, x: left + c * (cell + gap), y: y) }
        }
        return canvas.image
    }
}
