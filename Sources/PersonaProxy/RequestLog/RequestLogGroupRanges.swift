import GRDB

/// The `request_log_groups` rows of one commit: for every kind and distinct value among the
/// grouped rows, the first and last row id that holds it. Commits are serialised, so the ranges
/// of one value never overlap and come in id order.
struct GroupRanges {
    private struct Key: Hashable {
        let kind: RequestLogGroupKind
        let value: String
    }

    /// Built once: `allCases` makes a new array on every call.
    private static let kinds = RequestLogGroupKind.allCases
    private var ranges: [Key: (first: Int64, last: Int64)] = [:]
    /// Per kind, the previous row's value: most rows of a batch repeat it (one caller on one
    /// connection), and comparing two copies of one string is a pointer check, not a hash.
    private var previous: [String?] = Array(repeating: nil, count: kinds.count)
    private var previousFirst: [Int64] = Array(repeating: 0, count: kinds.count)

    mutating func add(_ record: RequestLogRecord, id: Int64) {
        for (index, kind) in Self.kinds.enumerated() {
            let value = kind.value(of: record)
            if value == previous[index], value != nil { continue }
            close(index)
            previous[index] = value
            if let value { previousFirst[index] = ranges[Key(kind: kind, value: value)]?.first ?? id }
        }
        lastId = id
    }

    private var lastId: Int64 = 0

    /// Ends the run of the previous value of one kind at the last row added.
    private mutating func close(_ index: Int) {
        guard let value = previous[index] else { return }
        ranges[Key(kind: Self.kinds[index], value: value)] = (previousFirst[index], lastId)
    }

    mutating func insert(into db: Database) throws {
        for index in previous.indices { close(index) }
        previous = Array(repeating: nil, count: previous.count)
        guard !ranges.isEmpty else { return }
        let statement = try db.cachedStatement(sql: "INSERT INTO request_log_groups (kind, value, first_id, last_id) VALUES (?, ?, ?, ?)")
        for (key, range) in ranges {
            try statement.execute(arguments: [key.kind.rawValue, key.value, range.first, range.last])
        }
    }
}
