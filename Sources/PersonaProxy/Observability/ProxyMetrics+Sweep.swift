import CoreMetrics
public import Foundation

/// The sweep's metrics (`ConnectionSweep`).
extension ProxyMetrics {
    public static let sweeps = "persona_proxy_sweeps_total"
    public static let sweepChecked = "persona_proxy_sweep_connections_checked_total"
    public static let sweepChanges = "persona_proxy_sweep_changes_total"
    public static let sweepRevalidated = "persona_proxy_sweep_revalidated_total"
    public static let sweepCalls = "persona_proxy_sweep_upstream_calls_total"
    public static let sweepLastCompleteAge = "persona_proxy_sweep_last_complete_age_seconds"

    static let sweepHelp: [String: String] = [
        sweeps: "Walks of Persona's connection list by result: complete, or stopped (a failed page; the next walk starts over).",
        sweepChecked: "Cached connections held against Persona's list (or, when missing from it, against one retrieve).",
        sweepChanges: "Cached connections the sweep found changed at Persona (their variants were purged).",
        sweepRevalidated: "Cached variants the sweep found unchanged and made fresh again.",
        sweepCalls: "Calls to Persona made by the sweep (background priority).",
        sweepLastCompleteAge: "Seconds since the last complete walk ended (absent until one has).",
    ]

    public func recordSweep(_ progress: SweepProgress) {
        Counter(label: Self.sweeps, dimensions: [("result", progress.stoppedBecause == nil ? "complete" : "stopped")], factory: factory).increment()
        Counter(label: Self.sweepChecked, factory: factory).increment(by: progress.checked)
        Counter(label: Self.sweepChanges, factory: factory).increment(by: progress.changed)
        Counter(label: Self.sweepRevalidated, factory: factory).increment(by: progress.revalidated)
        Counter(label: Self.sweepCalls, factory: factory).increment(by: progress.calls)
    }

    /// At scrape time: how long ago the last complete walk ended.
    public func setSweepAge(lastComplete: Date?, now: Date) {
        guard let lastComplete else { return }
        Gauge(label: Self.sweepLastCompleteAge, factory: factory).record(max(0, now.timeIntervalSince(lastComplete)))
    }
}
