public import Foundation
public import Logging
public import ServiceLifecycle
import Synchronization

/// Walks Persona's whole connection list (`page[size]=100`) every `sweep.interval_seconds` and
/// holds each cached connection against it (`ReadThroughCache.reconcile`): unchanged variants are
/// fresh again, changed ones are purged. A cached id the complete list did not show is checked with
/// one retrieve. One list call covers a hundred connections, so the whole cache is verified for
/// about 1 % of what re-fetching each entry would cost.
///
/// Every call is background priority on the proxy's own budget share, and the walk paces itself to
/// `sweep.max_budget_fraction` of Persona's limit per window (`SweepPacer`): callers never wait
/// behind it, and it never takes more than its share.
public final class ConnectionSweep: Service {
    public struct Settings: Sendable {
        public var intervalSeconds: Double
        public var maxBudgetFraction: Double
        public var personaVersion: String?

        public init(intervalSeconds: Double, maxBudgetFraction: Double, personaVersion: String?) {
            self.intervalSeconds = intervalSeconds
            self.maxBudgetFraction = maxBudgetFraction
            self.personaVersion = personaVersion
        }
    }

    /// One call the sweep made, for the request log: the path and query asked, the connection (for
    /// a retrieve), when it started and what came of it.
    public typealias CallReport = @Sendable (_ path: String, _ connectionId: String?, _ startedAt: Date, _ exchange: UpstreamExchange) async -> Void

    let cache: ReadThroughCache
    let upstream: any UpstreamCalling
    let clock: any WallClock
    let monotonic: any MonotonicClock
    let settings: @Sendable () -> Settings
    /// Persona's `RateLimit-Limit` as last seen (nil: not yet known).
    let limit: @Sendable () async -> Int?
    let report: CallReport
    public let status: SweepStatus
    let metrics: ProxyMetrics
    let logger: Logger
    private let pacer: Mutex<SweepPacer>
    private let walkRequested = Mutex(false)

    public init(
        cache: ReadThroughCache, upstream: any UpstreamCalling, clock: any WallClock, monotonic: any MonotonicClock,
        settings: @escaping @Sendable () -> Settings, limit: @escaping @Sendable () async -> Int?, report: @escaping CallReport = { _, _, _, _ in },
        metrics: ProxyMetrics, logger: Logger
    ) {
        self.cache = cache
        self.upstream = upstream
        self.clock = clock
        self.monotonic = monotonic
        self.settings = settings
        self.limit = limit
        self.report = report
        self.metrics = metrics
        self.logger = logger
        self.status = SweepStatus(intervalSeconds: { settings().intervalSeconds })
        self.pacer = Mutex(SweepPacer(fraction: settings().maxBudgetFraction))
    }

    /// Starts a walk now (`POST /admin/sweep`) instead of at the next interval, even when the
    /// interval is 0 (off).
    public func requestWalk() { walkRequested.withLock { $0 = true } }

    public func run() async throws {
        var lastStart = monotonic.now()
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            await Task.sleepUnlessShuttingDown(for: .milliseconds(250))
            let interval = settings().intervalSeconds
            let requested = walkRequested.withLock { requested in
                defer { requested = false }
                return requested
            }
            guard requested || (interval > 0 && monotonic.now() - lastStart >= interval) else { continue }
            lastStart = monotonic.now()
            // A walk waiting for budget must not hold up a shutdown.
            _ = await cancelWhenGracefulShutdown { await self.walk() }
        }
    }

    /// One complete walk (or as far as Persona lets it get).
    @discardableResult
    public func walk() async -> SweepProgress {
        var progress = SweepProgress(startedAt: clock.now())
        defer {
            status.finish(progress)
            metrics.recordSweep(progress)
        }
        let cached: Set<String>
        do {
            cached = try await cache.cachedConnectionIds()
        } catch {
            progress.stoppedBecause = "cache unavailable: \(error)"
            return progress
        }
        // Nothing cached, nothing to verify: no call spent.
        guard !cached.isEmpty else {
            progress.completedAt = clock.now()
            return progress
        }
        status.update(progress)
        var seen: Set<String> = []
        var cursor: String?
        var cursors: Set<String> = []
        repeat {
            let query = "page%5Bsize%5D=100" + (cursor.map { "&page%5Bafter%5D=\($0)" } ?? "")
            guard let response = await call(path: ConnectionListQuery.path, query: query, connectionId: nil, progress: &progress) else { return progress }
            guard response.status == 200, let page = ListedConnection.page(response.body) else {
                progress.stoppedBecause = "the list answered \(response.status)"
                logger.warning("sweep stopped: the list answered \(response.status)", metadata: ["page": "\(progress.pages + 1)"])
                return progress
            }
            progress.pages += 1
            progress.listed += page.connections.count
            for listed in page.connections where cached.contains(listed.id) && seen.insert(listed.id).inserted {
                progress.checked += 1
                apply(try? await cache.reconcile(listed), to: &progress)
            }
            status.update(progress)
            cursor = page.next
            // A cursor seen before would walk in a circle.
            if let next = cursor, !cursors.insert(next).inserted {
                progress.stoppedBecause = "the list repeated cursor \(next)"
                return progress
            }
        } while cursor != nil
        for connectionId in cached.subtracting(seen).sorted() {
            // It may have been purged or re-fetched since the walk began: only what is still cached counts.
            guard let variants = try? await cache.variants(connectionId: connectionId), !variants.isEmpty else { continue }
            guard
                let response = await call(
                    path: "/api/v1/connect/connections/\(connectionId)", query: "", connectionId: connectionId, progress: &progress)
            else { return progress }
            progress.missingChecked += 1
            progress.checked += 1
            apply(try? await cache.reconcileMissing(connectionId, answer: response), to: &progress)
            status.update(progress)
        }
        progress.completedAt = clock.now()
        return progress
    }

    private func apply(_ reconciliation: ReadThroughCache.Reconciliation?, to progress: inout SweepProgress) {
        guard let reconciliation else { return }
        progress.revalidated += reconciliation.revalidated
        if reconciliation.change != nil { progress.changed += 1 }
    }

    /// One paced, background call; nil (and the walk stops) when Persona could not be reached or
    /// the budget was not there in time.
    private func call(path: String, query: String, connectionId: String?, progress: inout SweepProgress) async -> UpstreamResponse? {
        let settings = settings()
        while true {
            if Task.isShuttingDownGracefully || Task.isCancelled {
                progress.stoppedBecause = "shutting down"
                return nil
            }
            let known = await limit()
            let delay = pacer.withLock { pacer in
                pacer.fraction = settings.maxBudgetFraction
                return pacer.delay(now: monotonic.now(), limit: known)
            }
            guard delay > 0 else { break }
            do { try await monotonic.sleep(until: monotonic.now() + delay) } catch { return nil }
        }
        var headers: [(name: String, value: String)] = [
            (name: "User-Agent", value: "persona-proxy/\(PersonaProxyVersion.string) (caller=persona-proxy/sweep)"),
            // Attribute names the sweep can read whatever the key's dashboard default is.
            (name: "Key-Inflection", value: "kebab"),
        ]
        if let version = settings.personaVersion { headers.append((name: "Persona-Version", value: version)) }
        let startedAt = clock.now()
        let exchange = await upstream.perform(
            UpstreamRequest(method: "GET", path: path, query: query, headers: headers, share: .proxy), priority: .background, maxWait: 120)
        pacer.withLock { pacer in
            for _ in exchange.calls { pacer.called(at: monotonic.now()) }
        }
        progress.calls += exchange.calls.count
        await report(path + (query.isEmpty ? "" : "?" + query), connectionId, startedAt, exchange)
        switch exchange.result {
        case .answered(let response):
            return response
        case .failed(let error):
            progress.stoppedBecause = "upstream failed: \(error.summary)"
        case .refused:
            progress.stoppedBecause = "no budget within 120 s"
        }
        logger.warning("sweep stopped", metadata: ["reason": "\(progress.stoppedBecause ?? "")", "page": "\(progress.pages + 1)"])
        return nil
    }
}
