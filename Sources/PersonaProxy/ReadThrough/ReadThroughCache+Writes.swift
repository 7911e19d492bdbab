import Foundation

/// Writes go through the read-through layer, not around it: it is the one place that knows which
/// cached variants a write makes wrong.
extension ReadThroughCache {
    public func write(_ write: ConnectionWrite, caller: CallerIdentity) async -> WriteResult {
        let idempotencyKey = write.idempotencyKey.flatMap { $0.isEmpty ? nil : $0 } ?? "ppx-\(UUID().uuidString.lowercased())"
        // Persona keeps keys per organisation: two services that both chose "retry-1" must not get
        // each other's stored result. An authenticated client's keys are prefixed with its name.
        let forwardedKey = caller.client.map { "\($0):\(idempotencyKey)" } ?? idempotencyKey
        var headers: [(name: String, value: String)] = [
            (name: "User-Agent", value: caller.userAgent), (name: "Idempotency-Key", value: forwardedKey),
            (name: "Content-Type", value: "application/json"),
        ]
        if let version = write.personaVersion { headers.append((name: "Persona-Version", value: version)) }
        if let inflection = write.keyInflection { headers.append((name: "Key-Inflection", value: inflection)) }
        let exchange = await upstream.perform(UpstreamRequest(method: "POST", path: write.path, headers: headers, body: write.body, share: caller.share))
        if case .answered(let response) = exchange.result, (200..<300).contains(response.status) {
            // The connection's own variants, and every list page: a create adds a row to some,
            // a deactivate or reactivate changes one.
            for connectionId in [write.connectionId, ConnectionListQuery.cacheConnectionId].compactMap({ $0 }) {
                do {
                    _ = try await purge(connectionId: connectionId)
                } catch {
                    logger.error("cache purge after \(write.action.rawValue) failed", metadata: ["connection_id": "\(connectionId)", "error": "\(error)"])
                }
            }
        }
        var result = exchange.result
        if case .answered(let answer) = result { result = .answered(personaShaped(answer)) }
        return WriteResult(result: result, calls: exchange.calls, idempotencyKey: idempotencyKey)
    }

    public func variants(connectionId: String) async throws(StorageError) -> [CachedEntry] {
        do { return try await store.entries(connectionId: connectionId) } catch { throw .wrapping(error) }
    }

    public func statistics() async throws(StorageError) -> CacheStatistics {
        do { return try await store.statistics(now: clock.now()) } catch { throw .wrapping(error) }
    }

    public func entryCount() async throws(StorageError) -> Int {
        do { return try await store.count() } catch { throw .wrapping(error) }
    }
}
