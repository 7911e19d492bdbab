import Foundation
public import NIOCore

/// What the sweep needs of one connection as Persona lists it: its id, `status` and `updated-at`
/// (read in any key inflection), and of a page, the cursor of the next one.
public struct ListedConnection: Sendable, Equatable {
    public var id: String
    public var status: String?
    public var updatedAt: String?

    public init(id: String, status: String?, updatedAt: String?) {
        self.id = id
        self.status = status
        self.updatedAt = updatedAt
    }

    /// One page of `GET /connect/connections`: its connections and the `page[after]` cursor of
    /// `links.next` (nil on the last page). nil when the body is not a list.
    public static func page(_ body: ByteBuffer) -> (connections: [ListedConnection], next: String?)? {
        guard let document = json(body), let data = document["data"] as? [[String: Any]] else { return nil }
        let connections = data.compactMap(listed)
        var next: String?
        if let links = document["links"] as? [String: Any], let link = links["next"] as? String,
            let query = link.split(separator: "?", maxSplits: 1).dropFirst().first
        {
            for pair in query.split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                if parts.count == 2, String(parts[0]).removingPercentEncoding == "page[after]" {
                    next = String(parts[1]).removingPercentEncoding
                }
            }
        }
        return (connections, next)
    }

    /// A retrieve's body (`{"data":{...}}`): the connection it holds, or nil (a 404's errors, a
    /// body that is not JSON).
    public static func resource(_ body: ByteBuffer) -> ListedConnection? {
        guard let document = json(body), let data = document["data"] as? [String: Any] else { return nil }
        return listed(data)
    }

    private static func listed(_ resource: [String: Any]) -> ListedConnection? {
        guard let id = resource["id"] as? String else { return nil }
        let attributes = resource["attributes"] as? [String: Any] ?? [:]
        func attribute(_ kebab: String, _ camel: String, _ snake: String) -> String? {
            (attributes[kebab] ?? attributes[camel] ?? attributes[snake]) as? String
        }
        return ListedConnection(id: id, status: attribute("status", "status", "status"), updatedAt: attribute("updated-at", "updatedAt", "updated_at"))
    }

    private static func json(_ body: ByteBuffer) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(body.readableBytesView))) as? [String: Any]
    }
}
