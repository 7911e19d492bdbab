import Foundation
import GRDB

/// The `request_log_groups` rows of one commit: for every kind and distinct value among the
/// grouped rows, the first and last row id that holds it. Commits are serialised, so the ranges
/// of one value never overlap and come in id order.
///
/// Values come as bytes straight from the writer's queue (`RecordBytes`): most rows of a batch
/// repeat the previous row's value (one caller on one connection), and that costs a byte
/// comparison; a string is made only where a run of one value ends.
struct GroupRanges {
    private struct Key: Hashable {
        let kind: RequestLogGroupKind
        let value: String
    }

    /// Built once: `allCases` makes a new array on every call.
    private static let kinds = RequestLogGroupKind.allCases
    private var ranges: [Key: (first: Int64, last: Int64)] = [:]
    /// Per kind (in `kinds` order), the previous row's value.
    private var previous: [[UInt8]?] = Array(repeating: nil, count: kinds.count)
    private var previousFirst: [Int64] = Array(repeating: 0, count: kinds.count)
    private var lastId: Int64 = 0

    /// One grouped row's values (nil: no group of that kind).
    ///
    /// - Parameter filtered: the `BatchFilter.kinds` bits of the values that are in the row's
    ///   batch's filter instead (a packed hit's); a run of such a value may then span it, which only
    ///   widens the range a query reads (its hits are matched by value).
    mutating func add(
        personaRequestId: UnsafeRawBufferPointer?, connectionId: UnsafeRawBufferPointer?, caller: UnsafeRawBufferPointer, status: Int, id: Int64,
        filtered: Int = 0
    ) {
        assert(Self.kinds == [.personaRequestId, .connectionId, .caller, .status], "values are passed in this order")
        if filtered & 2 == 0 { visit(0, personaRequestId, id: id) }
        if filtered & 1 == 0 { visit(1, connectionId, id: id) }
        visit(2, caller, id: id)
        // As the column's text: `status` groups are found by `String(status)`.
        HitJSON.decimal(Int64(status)) { visit(3, $0, id: id) }
        lastId = id
    }

    private mutating func visit(_ index: Int, _ value: UnsafeRawBufferPointer?, id: Int64) {
        if let value, let previousValue = previous[index], Self.equal(previousValue, value) { return }
        close(index)
        guard let value else {
            previous[index] = nil
            return
        }
        previous[index] = Array(value)
        previousFirst[index] = ranges[Key(kind: Self.kinds[index], value: String(decoding: value, as: UTF8.self))]?.first ?? id
    }

    private static func equal(_ bytes: [UInt8], _ value: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count == value.count else { return false }
        guard !bytes.isEmpty else { return true }
        return bytes.withUnsafeBytes { memcmp($0.baseAddress!, value.baseAddress!, value.count) == 0 }
    }

    /// Ends the run of the previous value of one kind at the last row added.
    private mutating func close(_ index: Int) {
        guard let value = previous[index] else { return }
        ranges[Key(kind: Self.kinds[index], value: String(decoding: value, as: UTF8.self))] = (previousFirst[index], lastId)
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
