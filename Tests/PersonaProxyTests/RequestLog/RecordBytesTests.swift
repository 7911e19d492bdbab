import Foundation
import PersonaProxy
import Testing

@testable import PersonaProxy

/// The hit writer's queue keeps records as bytes: every field must come back as it went in,
/// hits and rows with upstream attempts alike, in order.
@Suite struct RecordBytesTests {
    static let records = [
        RequestLogRecord(
            requestId: "ppx_aaaaaaaaaa000000000001", receivedAt: Date(timeIntervalSince1970: 1_800_000_000.123456), caller: "billing",
            method: "GET", path: "/api/v1/connect/connections/cxn_ABC123", connectionId: "cxn_ABC123", cacheOutcome: "hit", status: 200,
            personaRequestId: "req_1", durationMs: 0.0123, attempts: []),
        RequestLogRecord(
            requestId: "ppx_aaaaaaaaaa000000000002", receivedAt: Date(timeIntervalSince1970: 1_800_000_001), caller: "10.0.0.7 \"é\"",
            method: "POST", path: "/api/v1/connect/connections", connectionId: nil, cacheOutcome: "error", status: 502,
            personaRequestId: nil, durationMs: 1234.5,
            attempts: [
                UpstreamAttempt(attempt: 1, personaRequestId: nil, status: nil, error: "timeout", durationMs: 10_000, waitedMs: 0),
                UpstreamAttempt(attempt: 2, personaRequestId: "req_2", status: 429, error: nil, durationMs: 3.5, waitedMs: 1500),
            ],
            id: 42, callerRequestId: "mine-1"),
    ]

    @Test func recordsComeBackAsTheyWentIn() {
        var bytes = RecordBytes()
        for record in Self.records { bytes.append(record) }
        #expect(bytes.count == 2)
        #expect(bytes.records() == Self.records)
    }

    @Test func emptiedItHoldsNothingAndTakesNewRecords() {
        var bytes = RecordBytes()
        for record in Self.records { bytes.append(record) }
        bytes.removeAll()
        #expect(bytes.isEmpty && bytes.records().isEmpty)
        bytes.append(Self.records[1])
        #expect(bytes.records() == [Self.records[1]])
    }

    /// The writer's retry path puts a failed batch back ahead of the rows queued since.
    @Test func queuesJoinInOrder() {
        var first = RecordBytes()
        first.append(Self.records[1])
        var second = RecordBytes()
        second.append(Self.records[0])
        first.append(contentsOf: second)
        #expect(first.count == 2)
        #expect(first.records() == [Self.records[1], Self.records[0]])
    }

    /// The writer copies a hit's packed JSON from the queue; a record with upstream calls or a
    /// caller request id is never packed and carries none.
    @Test func aPackableHitCarriesItsPackedJSONAndOthersDoNot() throws {
        var bytes = RecordBytes()
        for record in Self.records { bytes.append(record) }
        let entries = bytes.entries()
        #expect(entries.count == 2)
        let fragment = try #require(entries[0].fragment)
        var expected: [UInt8] = []
        HitJSON.appendFragment(of: Self.records[0], to: &expected)
        #expect(Array(bytes.bytes[fragment]) == expected)
        #expect(String(decoding: bytes.bytes[entries[0].requestId], as: UTF8.self) == "ppx_aaaaaaaaaa000000000001")
        #expect(String(decoding: bytes.bytes[entries[0].connectionId!], as: UTF8.self) == "cxn_ABC123")
        #expect((entries[0].status, entries[0].receivedAt) == (200, 1_800_000_000.123456))
        #expect(entries[1].fragment == nil && entries[1].connectionId == nil && entries[1].personaRequestId == nil)
        #expect(bytes.record(at: entries[1]) == Self.records[1])
    }

    /// A failed batch requeued past the queue's bound loses its oldest records, not its newest.
    @Test func removingTheFirstKeepsTheRestInOrder() {
        var bytes = RecordBytes(Self.records + Self.records)
        bytes.removeFirst(3)
        #expect(bytes.records() == [Self.records[1]])
        bytes.removeFirst(5)
        #expect(bytes.isEmpty && bytes.bytes.isEmpty)
    }
}
