import Foundation
public import Logging
public import NIOCore
import NIOHTTP1

/// Answers a retrieve whose fresh entry sits in the memory tier on the event loop that read it:
/// no router, no middleware chain, no task hop, no `HTTPTypes` conversion. Everything else —
/// misses, stale entries, directives, queries, refusals, every other route — returns nil and goes
/// the usual way (`HitFastPathHandler` passes it on unchanged).
///
/// It makes the same decisions with the same functions as the slow path (`AccessControl`,
/// `ConnectionRequest.parse`, `CachePolicy.decide`) and produces the same status, body, headers,
/// metrics, request-log row and log line; a test compares the two paths byte for byte.
public struct HitFastPath: Sendable {
    let memory: MemoryCacheStore
    /// Entries not in memory, read on the event loop; nil: memory only.
    let durable: SQLiteEntryReader?
    let upstreamIdentity: String
    let clock: any WallClock
    let settings: @Sendable () -> RequestSettings
    let recorder: RequestRecorder
    let metrics: ProxyMetrics
    let counters: HitCounters
    let logger: Logger
    let requestIds: RequestIdGenerator
    let admission = SecondReadAdmission()

    public init(
        memory: MemoryCacheStore, durable: SQLiteEntryReader? = nil, upstreamIdentity: String, clock: any WallClock, settings: @escaping @Sendable () -> RequestSettings,
        recorder: RequestRecorder, metrics: ProxyMetrics, logger: Logger, requestIds: RequestIdGenerator = .shared
    ) {
        self.memory = memory
        self.durable = durable
        self.upstreamIdentity = upstreamIdentity
        self.clock = clock
        self.settings = settings
        self.recorder = recorder
        self.metrics = metrics
        self.counters = HitCounters(metrics: metrics, route: Self.route)
        self.logger = logger
        self.requestIds = requestIds
    }

    static let route = "/api/v1/connect/connections/{connection}"
    static let prefix = "/api/v1/connect/connections/"

    /// The complete response to `head` if it is a hit this path may serve; nil to pass the request on.
    public func answer(_ head: FastRequestHead, peer: String?, allocator: ByteBufferAllocator) -> ByteBuffer? {
        let started = ContinuousClock.now
        let path = head.path
        let id = path.utf8.dropFirst(Self.prefix.utf8.count)
        guard path.hasPrefix(Self.prefix), !id.isEmpty, !id.contains(UInt8(ascii: "/")) else { return nil }
        let settings = settings()
        let access = settings.access
        let decision = access.decide(
            .scope(.read), method: "GET", path: Substring(path), authorization: head.authorization, host: head.host, origin: head.origin,
            clientName: head.clientName, peer: peer)
        guard case .allow(let callerName, _) = decision else { return nil }
        guard
            let request = try? ConnectionRequest.parse(
                connectionId: String(Substring(id)), personaVersion: head.personaVersion, keyInflection: head.keyInflection, query: [],
                defaultPersonaVersion: settings.defaultPersonaVersion,
                allowedPersonaVersions: head.personaVersion == nil ? nil : settings.allowedPersonaVersions),
            let (entry, prepared) = entry(for: request.cacheKey(upstream: upstreamIdentity), allocator: allocator)
        else { return nil }
        let now = clock.now()
        guard case .fresh(let age, let ttl) = settings.policy.decide(entry: entry, now: now) else { return nil }

        let requestId = requestIds.next()
        let out = HitResponse.answer(
            head: prepared, body: entry.body, age: age, ttl: ttl, revalidated: entry.revalidatedAt != nil, requestId: requestId,
            date: HTTPDate.shared.now(), allocator: allocator)

        let record = RequestLogRecord(
            requestId: requestId, receivedAt: now, caller: callerName, method: "GET", path: path, connectionId: request.connectionId,
            cacheOutcome: "hit", status: entry.status, personaRequestId: entry.personaRequestId,
            durationMs: (ContinuousClock.now - started).milliseconds, attempts: [],
            callerRequestId: RequestEdgeMiddleware.callerRequestId(from: head.requestId))
        recorder.recordAnsweredFromCache(record)
        counters.hit(status: entry.status)
        if let label = access.metricsLabel(decision, authorization: head.authorization) { counters.client(label) }
        RequestEdgeMiddleware.logRequest(
            logger, requestId: requestId, method: "GET", path: path, status: entry.status, cache: "hit", started: started, caller: callerName)
        return out
    }
}

extension HitFastPath {
    /// The entry and its answer's unchanging head: from the memory tier (the head made once and
    /// kept there), else from SQLite (read here; promoted to memory on its second read, see
    /// `SecondReadAdmission`).
    func entry(for key: CacheKey, allocator: ByteBufferAllocator) -> (CachedEntry, ByteBuffer)? {
        if let hit = memory.entry(for: key, prepared: { HitResponse.head(for: $0, allocator: allocator) }) { return hit }
        guard let durable else { return nil }
        // Taken before SQLite is read: see `MemoryCacheStore.promote`.
        let generation = memory.removalGeneration
        var storageKey = key.storageKey
        let hash = storageKey.withUTF8 { CacheKey.fnv1a($0) }
        guard let entry = durable.entry(for: key, storageKey: &storageKey, hash: hash) else { return nil }
        if admission.admit(hash) { memory.promote(entry, ifNoRemovalSince: generation) }
        return (entry, HitResponse.head(for: entry, allocator: allocator))
    }
}
