/// Turns connections into Persona's JSON bytes for one `Key-Inflection` and sparse fieldset.
///
/// The proxy caches bytes, so the output is fully determined by (connection, inflection,
/// fields): attributes always come in the spec's example order, whatever order the fields were
/// requested in.
public struct ConnectionRenderer: Sendable {
    /// Attribute names, kebab case, in output order.
    public static let attributeNames = [
        "status", "source-organization-id", "destination-organization-id", "created-at", "updated-at",
    ]

    public var inflection: KeyInflection
    /// Requested attribute names in kebab case; nil means all. Unknown names are ignored.
    public var fields: Set<String>?

    public init(inflection: KeyInflection = .kebab, fields: Set<String>? = nil) {
        self.inflection = inflection
        self.fields = fields
    }

    /// Reads a `fields[connect/connection]` value (`status,created-at`); names may be given
    /// kebab, camel or snake.
    public init(inflection: KeyInflection, fieldsParameter: String?) {
        let fields = fieldsParameter.map { value in
            Set(value.split(separator: ",").map { KeyInflection.kebabForm(of: $0.trimmingSpaces) })
        }
        self.init(inflection: inflection, fields: fields)
    }

    /// `{"data":{...}}`, the body of retrieve, create, deactivate and reactivate.
    public func document(for connection: ConnectConnection) -> [UInt8] {
        JSONValue.object([("data", resource(connection))]).bytes
    }

    /// `{"data":[...],"links":{"prev":...,"next":...}}`, the body of list.
    public func listDocument(for connections: [ConnectConnection], previousLink: String?, nextLink: String?) -> [UInt8] {
        listDocument(for: connections, links: .object([("prev", previousLink.json), ("next", nextLink.json)]))
    }

    func listDocument(for connections: [ConnectConnection], links: JSONValue) -> [UInt8] {
        JSONValue.object([("data", .array(connections.map(resource))), ("links", links)]).bytes
    }

    func resource(_ connection: ConnectConnection) -> JSONValue {
        let values: [String: String] = [
            "status": connection.status,
            "source-organization-id": connection.sourceOrganizationId,
            "destination-organization-id": connection.destinationOrganizationId,
            "created-at": connection.createdAt.iso8601,
            "updated-at": connection.updatedAt.iso8601,
        ]
        let attributes = Self.attributeNames.compactMap { name -> (key: String, value: JSONValue)? in
            guard isRequested(name), let value = values[name] else { return nil }
            return (inflection.apply(toKebab: name), .string(value))
        }
        var members: [(key: String, value: JSONValue)] = [
            ("type", .string("connect/connection")),
            ("id", .string(connection.id)),
            ("attributes", .object(attributes)),
        ]
        // JSON:API sparse fieldsets cover relationships too: `creator` must be asked for by name.
        if let creator = connection.creator, isRequested("creator") {
            let data: JSONValue = .object([("id", .string(creator.id)), ("type", .string(creator.type))])
            members.append(("relationships", .object([("creator", .object([("data", data)]))])))
        }
        return .object(members)
    }

    private func isRequested(_ name: String) -> Bool {
        fields?.contains(name) ?? true
    }
}

extension String? {
    var json: JSONValue {
        map(JSONValue.string) ?? .null
    }
}
