/// Persona's cursor pagination: `page[size]` (1–100, default 10), `page[after]`, `page[before]`,
/// over a list already sorted newest first.
struct Pagination: Sendable {
    var size: Int
    var after: String?
    var before: String?

    init(size: Int = 10, after: String? = nil, before: String? = nil) {
        self.size = size
        self.after = after
        self.before = before
    }

    /// Persona documents the range but not the answer to a size outside it; the simulator
    /// refuses with 400 rather than clamping, so a caller's mistake is visible.
    init(query: QueryParameters) throws {
        self.init(after: query["page[after]"], before: query["page[before]"])
        if let raw = query["page[size]"] {
            guard let size = Int(raw), (1...100).contains(size) else {
                throw PersonaError.badRequest("page[size] must be an integer between 1 and 100")
            }
            self.size = size
        }
    }

    struct Page<Item> {
        var items: [Item]
        /// Cursor for `page[before]` when something newer matches, else nil.
        var previousCursor: String?
        /// Cursor for `page[after]` when something older matches, else nil.
        var nextCursor: String?
    }

    /// Cursors are looked up in the unfiltered list, so a cursor stays valid when its own object
    /// no longer matches the filter. An unknown cursor is a 400 (not documented by Persona).
    func page<Item>(
        of all: [Item],
        id: (Item) -> String,
        matching include: (Item) -> Bool = { _ in true }
    ) throws -> Page<Item> {
        var picked: [Int] = []
        if let after {
            guard let cursor = all.firstIndex(where: { id($0) == after }) else {
                throw PersonaError.badRequest("page[after] does not name a known object")
            }
            var index = cursor + 1
            while index < all.count, picked.count < size {
                if include(all[index]) { picked.append(index) }
                index += 1
            }
        } else if let before {
            guard let cursor = all.firstIndex(where: { id($0) == before }) else {
                throw PersonaError.badRequest("page[before] does not name a known object")
            }
            var index = cursor - 1
            while index >= 0, picked.count < size {
                if include(all[index]) { picked.insert(index, at: 0) }
                index -= 1
            }
        } else {
            var index = 0
            while index < all.count, picked.count < size {
                if include(all[index]) { picked.append(index) }
                index += 1
            }
        }
        guard let first = picked.first, let last = picked.last else {
            return Page(items: [], previousCursor: nil, nextCursor: nil)
        }
        let newerExists = all[..<first].contains(where: include)
        let olderExists = all[(last + 1)...].contains(where: include)
        return Page(
            items: picked.map { all[$0] },
            previousCursor: newerExists ? id(all[first]) : nil,
            nextCursor: olderExists ? id(all[last]) : nil
        )
    }

    /// Relative links with encoded brackets, as in the spec's examples; the caller's page size and
    /// filters are carried along so following a link keeps the same view.
    static func links(
        path: String,
        page: Page<some Any>,
        carrying query: QueryParameters,
        carriedNames: [String]
    ) -> JSONValue {
        let carried = carriedNames.compactMap { name in
            query[name].map { "&" + QueryParameters.encode(name) + "=" + QueryParameters.encode($0) }
        }.joined()
        func link(_ cursorName: String, _ cursor: String?) -> JSONValue {
            guard let cursor else { return .null }
            return .string(path + "?" + QueryParameters.encode(cursorName) + "=" + QueryParameters.encode(cursor) + carried)
        }
        return .object([("prev", link("page[before]", page.previousCursor)), ("next", link("page[after]", page.nextCursor))])
    }
}
