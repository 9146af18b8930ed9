import ExplainArrays
import ExplainCore
import ExplainImaging
import ExplainTestSupport
import Testing

/// zennit's colors byte for byte: every built-in palette at three levels and a palette written in
/// zennit's color-map language, and heatmaps rendered as `imgify(…, symmetric=True)` shows them
/// (Tests/Fixtures/arrays/zennit_image_cases.npz, Tools/make_zennit_image_fixture.py).
@Suite struct ZennitPaletteTests {
    static let archive: [String: NumpyArray] = (try? NumpyArchive.read(path: TestPaths.arrays + "/zennit_image_cases.npz")) ?? [:]

    static func bytes(_ name: String) throws -> [UInt8] {
        try #require(archive[name]).integers().map { UInt8($0) }
    }

    @Test func palettesAreZennits() throws {
        var checked = 0
        for (name, _) in ZennitPalette.builtIns {
            for (level, tag) in [(1.0, "1_0"), (0.5, "0_5"), (2.0, "2_0")] {
                #expect(try ZennitPalette.named(name).palette(level: level) == Self.bytes("palette_\(name)_l\(tag)"), "\(name) at \(level)")
                checked += 1
            }
        }
        #expect(checked == 33)
        #expect(try ZennitPalette(source: "10:0a0, 40:fff, 8040c0, 123, c0:f00 ,e0:ff8").palette() == Self.bytes("palette_custom_l1_0"))
        for bad in ["f00", "80:fff,10:000", "00f,,f00", "00f;f00", "80:"] {
            #expect(throws: ExplainError.self, "\(bad)") { try ZennitPalette(source: bad) }
        }
    }

    @Test(arguments: [0, 1]) func heatmapsAreImgifys(k: Int) throws {
        let map = try #require(Self.archive["map_\(k)"]).tensor()
        for cmap in ["bwr", "coldnhot", "seismic"] {
            var renderer = HeatmapRenderer()
            renderer.zennitPalette = try ZennitPalette.named(cmap).palette(level: k == 0 ? 1 : 1.5)
            let image = try renderer.render(map)
            #expect(image.pixels == (try Self.bytes("imgify_\(k)_\(cmap)")), "map \(k), \(cmap)")
        }
    }
}
