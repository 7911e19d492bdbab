import Foundation
public import Hummingbird
import NIOCore

/// Cache administration: `GET /admin/cache` (statistics), `GET /admin/cache/{id}` (every variant
/// held), `DELETE /admin/cache/{id}` (purge one connection), `DELETE /admin/cache?confirm=true`
/// (purge everything).
public struct CacheAdminRoutes: Sendable {
    let cache: any ConnectionCache
    let clock: any WallClock

    public init(cache: any ConnectionCache, clock: any WallClock) {
        self.cache = cache
        self.clock = clock
    }

    struct Variant: Encodable {
        let personaVersion: String
        let keyInflection: String
        let fields: String
        let status: Int
        let ageSeconds: Int
        let fetchedAt: String
        let expiresAt: String
        /// When Persona last vouched for the bytes: the fetch, or the sweep's latest confirmation.
        let verifiedAt: String
        let revalidatedBySweep: Bool
        let fresh: Bool
        let personaRequestId: String?
        let bytes: Int

        enum CodingKeys: String, CodingKey {
            case status, fields, fresh, bytes
            case personaVersion = "persona_version"
            case keyInflection = "key_inflection"
            case ageSeconds = "age_seconds"
            case fetchedAt = "fetched_at"
            case expiresAt = "expires_at"
            case verifiedAt = "verified_at"
            case revalidatedBySweep = "revalidated_by_sweep"
            case personaRequestId = "persona_request_id"
        }
    }

    public func register(on router: Router<ProxyRequestContext>) {
        router.get("/admin/cache") { _, _ in
            try AdminRequestRoutes.json(["data": try await cache.statistics()])
        }
        router.delete("/admin/cache") { request, _ in
            guard request.uri.queryParameters["confirm"] == "true" else {
                throw ProxyError.badRequest("Purging the whole cache needs ?confirm=true.")
            }
            return try AdminRequestRoutes.json(["data": ["purged": try await cache.purgeEverything()]])
        }
        router.get("/admin/cache/:connection") { _, context in
            let id = try Self.connectionId(context)
            let now = clock.now()
            let format = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
            let variants = try await cache.variants(connectionId: id).map { entry in
                Variant(
                    personaVersion: entry.key.personaVersion, keyInflection: entry.key.keyInflection, fields: entry.key.fields, status: entry.status,
                    ageSeconds: CachePolicy.age(of: entry, at: now), fetchedAt: format.format(entry.fetchedAt), expiresAt: format.format(entry.expiresAt),
                    verifiedAt: format.format(entry.verifiedAt), revalidatedBySweep: entry.revalidatedAt != nil, fresh: entry.expiresAt > now, personaRequestId: entry.personaRequestId, bytes: entry.body.readableBytes)
            }
            guard !variants.isEmpty else { throw ProxyError.notFound("Nothing is cached for \(id).") }
            return try AdminRequestRoutes.json(["data": variants])
        }
        router.delete("/admin/cache/:connection") { _, context in
            let id = try Self.connectionId(context)
            return try AdminRequestRoutes.json(["data": ["purged": try await cache.purge(connectionId: id)]])
        }
    }

    static func connectionId(_ context: ProxyRequestContext) throws(ProxyError) -> String {
        let id = context.parameters.get("connection") ?? ""
        guard ConnectionRequest.isValidConnectionId(id) else { throw .badRequest("Invalid connection id.") }
        return id
    }
}
