import Foundation
public import Hummingbird

/// `GET /admin/sweep`: the walk under way and the last one (`ConnectionSweep`); `POST /admin/sweep`
/// starts a walk now instead of at the next interval.
public struct SweepAdminRoutes: Sendable {
    let sweep: ConnectionSweep

    public init(sweep: ConnectionSweep) {
        self.sweep = sweep
    }

    struct Walk: Encodable {
        let startedAt: String
        let completedAt: String?
        let stoppedBecause: String?
        let pages, listed, checked, revalidated, changed, missingChecked, upstreamCalls: Int

        init(_ progress: SweepProgress) {
            let format = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
            startedAt = format.format(progress.startedAt)
            completedAt = progress.completedAt.map(format.format)
            stoppedBecause = progress.stoppedBecause
            pages = progress.pages
            listed = progress.listed
            checked = progress.checked
            revalidated = progress.revalidated
            changed = progress.changed
            missingChecked = progress.missingChecked
            upstreamCalls = progress.calls
        }

        enum CodingKeys: String, CodingKey {
            case pages, listed, checked, revalidated, changed
            case startedAt = "started_at"
            case completedAt = "completed_at"
            case stoppedBecause = "stopped_because"
            case missingChecked = "missing_checked"
            case upstreamCalls = "upstream_calls"
        }
    }

    struct Status: Encodable {
        let intervalSeconds: Double
        let current: Walk?
        let last: Walk?
        let lastComplete: Walk?

        enum CodingKeys: String, CodingKey {
            case current, last
            case intervalSeconds = "interval_seconds"
            case lastComplete = "last_complete"
        }
    }

    public func register(on router: Router<ProxyRequestContext>) {
        router.get("/admin/sweep") { _, _ in
            let status = sweep.status
            return try AdminRequestRoutes.json([
                "data": Status(
                    intervalSeconds: status.intervalSeconds(), current: status.current.map(Walk.init), last: status.last.map(Walk.init),
                    lastComplete: status.lastComplete.map(Walk.init))
            ])
        }
        router.post("/admin/sweep") { _, _ in
            sweep.requestWalk()
            var response = try AdminRequestRoutes.json(["data": ["requested": true]])
            response.status = .accepted
            return response
        }
    }
}
