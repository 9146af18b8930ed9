import ExplainKit
import ExplainTestSupport
import Foundation
import Testing

/// Least-angle regression's order of entry equals scikit-learn 1.9.1's `lars_path(X, y, max_iter=r,
/// method="lar")[1]` (shap KernelExplainer's `num_features(r)`), on designs where scikit-learn drops
/// degenerate candidates (more features than samples, collinear columns) and on plain ones
/// (`Tests/Fixtures/arrays/lars_cases.npz`, `Tools/make_lars_fixture.py`).
struct LeastAngleTests {
    @Test(arguments: ["repeated", "collinear", "binary", "wide", "wide_binary", "degenerate_15", "degenerate_33", "degenerate_86", "degenerate_93", "plain"])
    func activeSetIsScikitLearns(_ name: String) throws {
        let a = try NumpyArchive.read(path: TestPaths.arrays + "/lars_cases.npz")
        let x = try #require(a[name + "_x"]), y = try #require(a[name + "_y"]).doubles()
        let r = try #require(a[name + "_r"]).integers()[0], want = try #require(a[name + "_active"]).integers()
        let (n, p) = (x.shape[0], x.shape[1]), values = x.doubles()
        let columns = (0..<p).map { j in (0..<n).map { values[$0 * p + j] } }
        #expect(LeastAngle.activeSet(columns: columns, y: y, maxIterations: r) == want, "\(name)")
    }
}
