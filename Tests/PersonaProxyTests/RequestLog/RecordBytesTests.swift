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
}
