import CExplainSupport
import Foundation

/// Process-wide memory settings.
public enum Memory {
    /// Keeps freed memory in the heap instead of returning it to the kernel. Tensors of many
    /// megabytes are allocated and freed every layer; without this, glibc unmaps them and every
    /// pass page-faults the same memory again. Call once at startup in an executable (it changes
    /// the whole process's allocator, so libraries should leave the choice to the application).
    /// - Returns: whether the allocator accepted the settings (false on non-glibc systems).
    @discardableResult
    public static func keepFreedMemory() -> Bool {
        explain_keep_freed_memory() == 1
    }

    /// Bytes the system can still give this process: Linux's `MemAvailable`, else half the
    /// physical memory.
    public static func available() -> Int {
        if let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8),
           let line = text.split(separator: "\n").first(where: { $0.hasPrefix("MemAvailable:") }),
           let kb = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) {
            return kb * 1024
        }
        return Int(ProcessInfo.processInfo.physicalMemory / 2)
    }
}
