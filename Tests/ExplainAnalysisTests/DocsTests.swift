import ExplainKit
import ExplainTestSupport
import Foundation
import Testing

/// The documentation stays true to the registry: every analyzer has its page in Docs/Methods and
/// a row in the README's method table; every rule, preset and canonizer is named on some page.
@Suite struct DocsTests {
    @Test func everyRegisteredNameIsDocumented() throws {
        var registry = Registry()
        for p in defaultPlugins() { try p.register(into: &registry) }
        let methods = TestPaths.root + "/Docs/Methods"
        let pages = try FileManager.default.contentsOfDirectory(atPath: methods).filter { $0.hasSuffix(".md") }
        let text = try pages.map { try String(contentsOfFile: methods + "/" + $0, encoding: .utf8) }.joined(separator: "\n")
        let readme = try String(contentsOfFile: TestPaths.root + "/README.md", encoding: .utf8)
        for id in registry.analyzers.keys.sorted() {
            let hasPage = pages.contains(id + ".md"), inReadme = readme.contains("`\(id)`")
            #expect(hasPage, "analyzer \(id) has no Docs/Methods/\(id).md")
            #expect(inReadme, "analyzer \(id) is not in the README's method table")
        }
        let others = Array(registry.rules.keys) + Array(registry.presets.keys) + Array(registry.canonizers.keys)
        for id in others.sorted() {
            let named = text.contains("`\(id)`") || text.contains("`\(id):")
            #expect(named, "\(id) is not named on any Docs/Methods page")
        }
    }
}
