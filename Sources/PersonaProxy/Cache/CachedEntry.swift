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

    public init(
        key: CacheKey, status: Int, body: ByteBuffer, contentType: String?, personaRequestId: String?,
        environmentId: String?, organizationId: String?, fetchedAt: Date, expiresAt: Date
    ) {
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
