import ExplainKit
import Foundation

/// OpenBLAS 0.3.21 (Debian 12's) does not recognise recent Intel server processors (Sapphire and
/// Emerald Rapids, family 6 models 0x8F and 0xCF) and falls back to its SSE3 kernel `Prescott`,
/// which runs the products 2–3× slower. When `OPENBLAS_CORETYPE` is not set, OpenBLAS chose
/// `Prescott`, and the processor's flags (`/proc/cpuinfo`) show AVX-512 (F, BW, VL, DQ) or AVX2 with
/// FMA, `explain` starts itself again with `OPENBLAS_CORETYPE=SkylakeX` (resp. `Haswell`), the
/// kernels those instruction sets run. A value already set is never changed;
/// `EXPLAINKIT_BLAS_CORE=off` keeps OpenBLAS's own choice (`make test` sets it).
enum BLASKernelChoice {
    /// Re-executes the process with a better kernel named, when the conditions above hold; returns
    /// (and goes on with OpenBLAS's choice) otherwise or when the re-execution fails.
    static func restartIfGeneric() {
        let environment = ProcessInfo.processInfo.environment
        guard environment["OPENBLAS_CORETYPE"] == nil, environment["EXPLAINKIT_BLAS_CORE"] != "off", BLAS.coreName == "Prescott",
              let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }),
              let core = BLAS.kernel(forCPUFlags: Set(line.split(separator: " ").map(String.init))) else { return }
        setenv("OPENBLAS_CORETYPE", core, 1)
        var arguments: [UnsafeMutablePointer<CChar>?] = CommandLine.arguments.map { strdup($0) } + [nil]
        execv("/proc/self/exe", &arguments)
        unsetenv("OPENBLAS_CORETYPE")   // only reached when execv failed
    }
}
