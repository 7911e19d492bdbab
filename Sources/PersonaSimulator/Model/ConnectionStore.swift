/// The connections of one simulated environment and the status transitions Persona allows.
///
/// A plain value guarded by ``SimulatorState``; the rules live here so they can be tested alone.
struct ConnectionStore: Sendable {
    private var connections: [String: ConnectConnection] = [:]
    /// Ids in creation order. Creation order is also time order (seeds are dated in the past,
    /// new connections get the current time), so "newest first" is this list reversed.
    private var creationOrder: [String] = []

    init(_ seed: [ConnectConnection]) {
        for connection in seed { insert(connection) }
    }

    func connection(id: String) throws -> ConnectConnection {
        guard let connection = connections[id] else { throw PersonaError.recordNotFound }
        return connection
    }

    var newestFirst: [ConnectConnection] {
        creationOrder.reversed().compactMap { connections[$0] }
    }

    mutating func insert(_ connection: ConnectConnection) {
        if connections.updateValue(connection, forKey: connection.id) == nil {
            creationOrder.append(connection.id)
        }
    }

    /// Either organization may deactivate a `pending` or `active` connection.
    mutating func deactivate(id: String, at now: Timestamp) throws -> ConnectConnection {
        try transition(id: id, from: ["pending", "active"], to: "inactive", at: now) { status in
            "Connection cannot be deactivated from status \(status)"
        }
    }

    /// Only an `inactive` connection can be reactivated; it goes back to `pending` and waits for
    /// the destination organization again.
    mutating func reactivate(id: String, at now: Timestamp) throws -> ConnectConnection {
        try transition(id: id, from: ["inactive"], to: "pending", at: now) { status in
            "Connection cannot be reactivated from status \(status)"
        }
    }

    /// A change made where no API call shows it (Persona's dashboard, the other organization):
    /// any status, `updated-at` moves. For tests and benchmarks of the proxy's sweep.
    mutating func setStatusBehindTheAPI(id: String, to status: String, at now: Timestamp) throws -> ConnectConnection {
        var connection = try connection(id: id)
        connection.status = status
        connection.updatedAt = now
        connections[id] = connection
        return connection
    }

    /// Persona documents no status code for a refused transition (409 and 422 are both listed
    /// for these operations); the simulator answers 409 Conflict.
    private mutating func transition(
        id: String,
        from allowed: Set<String>,
        to target: String,
        at now: Timestamp,
        refusal: (String) -> String
    ) throws -> ConnectConnection {
        var connection = try connection(id: id)
        guard allowed.contains(connection.status) else { throw PersonaError.conflict(refusal(connection.status)) }
        connection.status = target
        connection.updatedAt = now
        connections[id] = connection
        return connection
    }
}
