import CExplainSupport
import Dispatch
import Foundation
import Synchronization

/// The worker threads behind `Parallel.perform`: they wait for the next parallel region by spinning
/// for a short while before they sleep, so that the hundreds of short regions of one forward or
/// backward pass (a GEMM split in two, an element-wise pass, a Winograd band) start in well under a
/// microsecond. `DispatchQueue.concurrentPerform` wakes a sleeping thread for each region instead,
/// 10–15 µs per region on a 2-vCPU virtual machine — 5–8 % of a ResNet-50 pass at batch 1.
///
/// One region runs at a time: the submitting thread takes its iterations too, and a region started
/// while another runs (another thread's analysis, or a region inside a region) is answered `false`,
/// so the caller falls back to `concurrentPerform`. Iterations are claimed one by one from a ticket
/// that carries the region's generation, so a worker that wakes late can never run an iteration of
/// a region that has already ended.
final class SpinPool: @unchecked Sendable {
    /// One pool per process, with a worker per core beyond the first; none with `EXPLAINKIT_SPIN=off`
    /// in the environment (every region then goes through `concurrentPerform`).
    static let shared = SpinPool(workers: ProcessInfo.processInfo.environment["EXPLAINKIT_SPIN"] == "off"
                                 ? 0 : ProcessInfo.processInfo.activeProcessorCount - 1)

    /// How long an idle worker spins before it sleeps.
    static let spinNanoseconds: UInt64 = 200_000

    private let workers: Int
    /// Whether a region is running (its submitter holds the pool).
    private let busy = Atomic<Bool>(false)
    /// `generation << 32 | next iteration` of the current region.
    private let ticket = Atomic<UInt64>(0)
    /// The current region: its iteration count and the address of its body (on the submitter's stack).
    private let count = Atomic<Int>(0)
    private let body = Atomic<UInt>(0)
    /// Iterations of the current region not yet finished.
    private let remaining = Atomic<Int>(0)
    /// Workers that went to sleep (or are about to); the submitter wakes that many.
    private let sleepers = Atomic<Int>(0)
    private let wake = DispatchSemaphore(value: 0)

    init(workers: Int) {
        self.workers = max(0, workers)
        for _ in 0..<self.workers {
            let thread = Thread { [unowned self] in self.work() }
            thread.name = "ExplainKit worker"
            thread.stackSize = 8 << 20
            thread.start()
        }
    }

    /// Runs `body(i)` for every `i` in `0..<n`, on the calling thread and the workers; returns false
    /// (without running anything) when the pool has no workers or is running another region.
    func run(_ n: Int, _ body: (Int) -> Void) -> Bool {
        guard workers > 0, n > 0, n < 1 << 31,
              busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else { return false }
        defer { busy.store(false, ordering: .releasing) }
        withoutActuallyEscaping(body) { body in
            withUnsafePointer(to: body) { pointer in
                let generation = ((ticket.load(ordering: .relaxed) >> 32) &+ 1) & 0xFFFF_FFFF   // wraps after 2³² regions
                remaining.store(n, ordering: .relaxed)
                count.store(n, ordering: .relaxed)
                self.body.store(UInt(bitPattern: pointer), ordering: .relaxed)
                ticket.store(generation << 32, ordering: .releasing)
                let asleep = sleepers.exchange(0, ordering: .acquiringAndReleasing)
                for _ in 0..<asleep { wake.signal() }
                _ = take(generation: generation)
                // Wait for the iterations the workers took (short: one piece of this region each).
                var spins = 0
                while remaining.load(ordering: .acquiring) > 0 {
                    spins += 1
                    if spins & 1023 == 0 { sched_yield() } else { explain_cpu_relax() }
                }
            }
        }
        return true
    }

    /// Claims and runs iterations of region `generation` until none is left; false when the
    /// ticket already belongs to another region.
    @discardableResult
    private func take(generation: UInt64) -> Bool {
        while true {
            let t = ticket.load(ordering: .acquiring)
            guard t >> 32 == generation else { return false }
            let i = Int(t & 0xFFFF_FFFF)
            // Read before the claim; valid only if the claim succeeds (the region cannot end before
            // a claimed iteration finishes, and a new region only starts after that).
            let n = count.load(ordering: .acquiring), address = body.load(ordering: .acquiring)
            guard i < n else { return true }
            guard ticket.compareExchange(expected: t, desired: t &+ 1, ordering: .acquiringAndReleasing).exchanged else { continue }
            guard let pointer = UnsafePointer<(Int) -> Void>(bitPattern: address) else { return true }
            pointer.pointee(i)
            remaining.subtract(1, ordering: .releasing)
        }
    }

    /// A worker: takes the iterations of each new region; spins while regions follow each other
    /// closely, sleeps when none came for `spinNanoseconds`.
    private func work() {
        var seen = ticket.load(ordering: .acquiring) >> 32
        while true {
            var start: UInt64 = 0
            var spins = 0
            while ticket.load(ordering: .acquiring) >> 32 == seen {
                // Yielding (not only pausing) hands the core to any other runnable thread, so that a
                // waiting worker does not slow down analyses running side by side on other threads.
                spins += 1
                if spins & 7 == 0 { sched_yield() } else { explain_cpu_relax() }
                guard spins & 63 == 0 else { continue }
                let now = DispatchTime.now().uptimeNanoseconds
                if start == 0 { start = now; continue }
                guard now - start > Self.spinNanoseconds else { continue }
                // Announce the sleep, then look once more: a region published in between is taken
                // now (the submitter's wake-up then only costs one extra turn of this loop).
                sleepers.add(1, ordering: .acquiringAndReleasing)
                if ticket.load(ordering: .acquiring) >> 32 == seen { wake.wait() }
                start = 0
            }
            seen = ticket.load(ordering: .acquiring) >> 32
            take(generation: seen)
        }
    }
}
