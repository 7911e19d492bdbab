/// A Persona Connect connection (`type: "connect/connection"`), as the simulator stores it.
public struct ConnectConnection: Sendable, Equatable {
    /// Who created the connection: `relationships.creator.data` in Persona's JSON.
    public struct Creator: Sendable, Equatable {
        public var id: String
        /// `user` or `api-key`; Persona marks this polymorphic, so it is kept as a string.
        public var type: String

        public init(id: String, type: String) {
            self.id = id
            self.type = type
        }
    }

    public var id: String
    /// `pending`, `active` or `inactive`. A string, not an enum: Persona warns that string
    /// attributes may gain values, and the simulator must be able to serve such a value.
    public var status: String
    public var sourceOrganizationId: String
    public var destinationOrganizationId: String
    public var createdAt: Timestamp
    public var updatedAt: Timestamp
    public var creator: Creator?

    public init(
        id: String,
        status: String,
        sourceOrganizationId: String,
        destinationOrganizationId: String,
        createdAt: Timestamp,
        updatedAt: Timestamp,
        creator: Creator? = nil
    ) {
        self.id = id
        self.status = status
        self.sourceOrganizationId = sourceOrganizationId
        self.destinationOrganizationId = destinationOrganizationId
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.creator = creator
    }
}
