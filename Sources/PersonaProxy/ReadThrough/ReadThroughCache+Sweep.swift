/// What the sweep asks of the cache: hold each connection's variants against what Persona lists.
extension ReadThroughCache {
    public struct Reconciliation: Sendable, Equatable {
        /// Variants made fresh again.
        public var revalidated = 0
        /// Why the variants were purged, if they were.
        public var change: String?
    }

    /// Revalidates every cached variant of the connection if each still says what `listed` says;
    /// otherwise purges them all, and every list page (which shows the old state too).
    ///
    /// A variant is revalidated only if it is still the one judged and no purge came in between
    /// (`PurgeBarrier`): a deactivate through the proxy while the sweep looked always wins.
    public func reconcile(_ listed: ListedConnection) async throws(StorageError) -> Reconciliation {
        let ticket = purges.begin(listed.id)
        defer { purges.end(ticket) }
        let entries: [CachedEntry]
        do { entries = try await store.entries(connectionId: listed.id) } catch { throw .wrapping(error) }
        for entry in entries {
            if case .changed(let why) = SweepJudgement.judge(entry, against: listed) {
                try await purgeWithListPages(listed.id)
                logger.info(
                    "sweep: connection changed at Persona; cached variants purged",
                    metadata: ["connection_id": "\(listed.id)", "change": "\(why)", "variants": "\(entries.count)"])
                return Reconciliation(change: why)
            }
        }
        let now = clock.now()
        let policy = policy()
        var result = Reconciliation()
        for entry in entries {
            guard let lifetime = policy.lifetime(forStatus: entry.status) else { continue }
            do {
                var done = false
                _ = try await purges.storeIfCurrent(ticket) {
                    done = try await store.revalidate(entry.key, fetchedAt: entry.fetchedAt, at: now, expiresAt: now.addingTimeInterval(lifetime))
                }
                if done { result.revalidated += 1 }
            } catch {
                throw .wrapping(error)
            }
        }
        return result
    }

    /// A cached connection Persona did not list: `answer` is what one retrieve of it said (200
    /// with the connection, or 404). A 404, or a changed connection, purges its variants.
    public func reconcileMissing(_ connectionId: String, answer: UpstreamResponse) async throws(StorageError) -> Reconciliation {
        if answer.status == 200, let listed = ListedConnection.resource(answer.body), listed.id == connectionId {
            return try await reconcile(listed)
        }
        guard answer.status == 404 else { return Reconciliation() }
        try await purgeWithListPages(connectionId)
        logger.info("sweep: cached connection no longer found at Persona; variants purged", metadata: ["connection_id": "\(connectionId)"])
        return Reconciliation(change: "not found")
    }

    /// A connection changed at Persona: its variants go, and every list page (which shows it too).
    private func purgeWithListPages(_ connectionId: String) async throws(StorageError) {
        _ = try await purge(connectionId: connectionId)
        _ = try await purge(connectionId: ConnectionListQuery.cacheConnectionId)
    }

    /// Every connection id with cached variants (list pages excluded).
    public func cachedConnectionIds() async throws(StorageError) -> Set<String> {
        do {
            return Set(try await store.connectionIds()).subtracting([ConnectionListQuery.cacheConnectionId])
        } catch {
            throw .wrapping(error)
        }
    }
}
