import GRDB

/// The `request_log_groups` rows of one commit: for every kind and distinct value among the
/// grouped rows, the first and last row id that holds it. Commits are serialised, so the ranges
/// of one value never overlap and come in id order.
struct GroupRanges {
    private struct Key: Hashable {
        let kind: RequestLogGroupKind
        let value: String
    }

    private var ranges: [Key: (first: Int64, last: Int64)] = [:]
    mutating func add(_ record: RequestLogRecord, id: Int64) {
        for kind in RequestLogGroupKind.allCases {
            guard let value = kind.value(of: record) else { continue }
            ranges[Key(kind: kind, value: value), default: (id, id)].last = id
        }
    }

    func insert(into db: Database) throws {
        guard !ranges.isEmpty else { return }
        let statement = try db.cachedStatement(sql: "INSERT INTO request_log_groups (kind, value, first_id, last_id) VALUES (?, ?, ?, ?)")
        for (key, range) in ranges {
            try statement.execute(arguments: [key.kind.rawValue, key.value, range.first, range.last])
        }
    }
}
