/// The parameters of Persona's list (`GET /api/v1/connect/connections`), validated before anything
/// else: a page size outside 1–100, a filter Persona does not have or a malformed value is a 400
/// with no upstream call, so no caller can spend budget on a request Persona would refuse, or
/// spread the cache over spellings of one page.
public struct ConnectionListQuery: Sendable, Equatable {
    public var after: String?
    public var before: String?
    public var size: Int?
    public var status: String?
    public var destinationOrganizationId: String?

    public init(after: String? = nil, before: String? = nil, size: Int? = nil, status: String? = nil, destinationOrganizationId: String? = nil) {
        self.after = after
        self.before = before
        self.size = size
        self.status = status
        self.destinationOrganizationId = destinationOrganizationId
    }

    public static let path = "/api/v1/connect/connections"
    /// List pages are cached under this connection id: purging it drops every page at once.
    public static let cacheConnectionId = ""

    /// - Parameter query: decoded items in order. `fields[...]` is left to `ConnectionRequest`;
    ///   other names outside `page[...]` and `filter[...]` are dropped, as for a retrieve.
    public static func parse(_ query: [(name: String, value: String)]) throws(InvalidRequest) -> ConnectionListQuery {
        var list = ConnectionListQuery()
        var seen: Set<String> = []
        for item in query where item.name.hasPrefix("page[") || item.name.hasPrefix("filter[") {
            guard seen.insert(item.name).inserted else { throw InvalidRequest("\(item.name.prefix(60)) is given more than once.") }
            switch item.name {
            case "page[after]": list.after = try cursor(item)
            case "page[before]": list.before = try cursor(item)
            case "page[size]":
                guard let size = Int(item.value), (1...100).contains(size) else {
                    throw InvalidRequest("page[size] must be an integer between 1 and 100.")
                }
                list.size = size
            case "filter[status]":
                // Persona warns that statuses are not a closed set: any word of an id's characters passes.
                guard item.value.utf8.count <= 64, ConnectionRequest.isValidConnectionId(item.value) else {
                    throw InvalidRequest("Invalid filter[status]: expected a status such as active, pending or inactive.")
                }
                list.status = item.value
            case "filter[destination-organization-id]":
                guard ConnectionRequest.isValidConnectionId(item.value) else {
                    throw InvalidRequest("Invalid filter[destination-organization-id]: expected an organization id such as org_ABC123.")
                }
                list.destinationOrganizationId = item.value
            default:
                let known = item.name.hasPrefix("page[") ? "page[after], page[before] and page[size]" : "filter[status] and filter[destination-organization-id]"
                throw InvalidRequest("Unknown parameter \(item.name.prefix(60)): the connection list takes \(known).")
            }
        }
        return list
    }

    /// One spelling per page: a fixed order, brackets percent-encoded as in Persona's own links.
    /// Values are plain words (checked above), so nothing else needs encoding.
    public var encodedQuery: String {
        var parts: [String] = []
        if let after { parts.append("page%5Bafter%5D=\(after)") }
        if let before { parts.append("page%5Bbefore%5D=\(before)") }
        if let size { parts.append("page%5Bsize%5D=\(size)") }
        if let destinationOrganizationId { parts.append("filter%5Bdestination-organization-id%5D=\(destinationOrganizationId)") }
        if let status { parts.append("filter%5Bstatus%5D=\(status)") }
        return parts.joined(separator: "&")
    }

    private static func cursor(_ item: (name: String, value: String)) throws(InvalidRequest) -> String {
        guard ConnectionRequest.isValidConnectionId(item.value) else {
            throw InvalidRequest("Invalid \(item.name): expected a connection id such as cxn_ABC123.")
        }
        return item.value
    }
}
