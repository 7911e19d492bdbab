public import Foundation
public import NIOCore

/// One stored upstream answer: the body bytes exactly as Persona sent them, plus what a hit
/// needs to answer like Persona did (content type, ids) and to judge freshness.
public struct CachedEntry: Sendable, Equatable {
    public var key: CacheKey
    /// 200 for a connection, 404 for a negative entry.
    public var status: Int
    public var body: ByteBuffer
    public var contentType: String?
    /// The `Request-Id` of the upstream response that filled this entry.
    public var personaRequestId: String?
    public var environmentId: String?
    public var organizationId: String?
    public var fetchedAt: Date
    public var expiresAt: Date
    /// When the sweep last found this entry unchanged in Persona's list (and made it fresh again
    /// until `expiresAt`); nil if it never did.
    public var revalidatedAt: Date?

    /// When Persona last vouched for these bytes: the fetch, or a later revalidation.
    public var verifiedAt: Date { max(fetchedAt, revalidatedAt ?? fetchedAt) }

    public init(
        key: CacheKey, status: Int, body: ByteBuffer, contentType: String?, personaRequestId: String?,
        environmentId: String?, organizationId: String?, fetchedAt: Date, expiresAt: Date, revalidatedAt: Date? = nil
    ) {
        self.revalidatedAt = revalidatedAt
        self.key = key
        self.status = status
        self.body = body
        self.contentType = contentType
        self.personaRequestId = personaRequestId
        self.environmentId = environmentId
        self.organizationId = organizationId
        self.fetchedAt = fetchedAt
        self.expiresAt = expiresAt
    }
}
