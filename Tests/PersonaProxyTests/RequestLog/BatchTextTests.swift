import Foundation
@testable import PersonaProxy
import Testing

/// A value few hits of a batch hold is found by cutting those hits out of the batch's text: every
/// hit that holds it, whole, whatever its strings hold, and the query still answers exactly.
@Suite struct BatchTextTests {
    static func ranges(_ text: String, _ needle: String) -> [String] {
        let bytes = Array(text.utf8)
        let found = bytes.withUnsafeBytes { text in
            Array(needle.utf8).withUnsafeBytes { BatchText.hits(in: text, containing: $0) }
        }
        return found.map { String(decoding: bytes[$0], as: UTF8.self) }
    }

    @Test func everyHitHoldingTheStringIsCutOutWhole() {
        // Brackets and escaped quotes inside strings do not end a hit.
        let text = #"[[1,"a[\"]x","cxn_1"],[2,"]","cxn_2"],[3,"\\","cxn_1"],[4,"[[","cxn_12"]]"#
        #expect(Self.ranges(text, #""cxn_1""#) == [#"[1,"a[\"]x","cxn_1"]"#, #"[3,"\\","cxn_1"]"#])
        #expect(Self.ranges(text, #""cxn_12""#) == [#"[4,"[[","cxn_12"]"#])
        #expect(Self.ranges(text, #""cxn_9""#).isEmpty)
        // Cut out as one JSON array, for SQLite to decode.
        let bytes = Array(text.utf8)
        let joined = bytes.withUnsafeBytes { text in
            let ranges = Array(#""cxn_1""#.utf8).withUnsafeBytes { BatchText.hits(in: text, containing: $0) }
            return String(decoding: BatchText.array(of: ranges, in: text), as: UTF8.self)
        }
        #expect(joined == #"[[1,"a[\"]x","cxn_1"],[3,"\\","cxn_1"]]"#)
    }

    @Test func aFoundHitIsTheOneTheQueryNamesNotOneThatMentionsTheValueElsewhere() async throws {
        try await GroupedRequestLogTests.withDatabase { _, store in
            // 40 connections in one commit: the batch keeps a filter, and the query cuts hits out.
            var hits = (0..<40).map { BatchFilterTests.hit($0, connection: $0) }
            // Hits of other connections whose caller and path spell "cxn_7" too.
            hits[20].caller = "cxn_7"
            hits[21].path = "/api/v1/connect/connections/cxn_21?x=\"cxn_7\""
            // A connection id JSON must escape: found the other way (the batch decoded).
            hits[30].connectionId = "cxn_\"odd\""
            try await store.append(hits)
            #expect(try await store.query(RequestLogQuery(connectionId: "cxn_7", limit: 10)).map(\.requestId) == ["ppx_f000007"])
            #expect(try await store.query(RequestLogQuery(connectionId: "cxn_\"odd\"", limit: 10)).map(\.requestId) == ["ppx_f000030"])
            #expect(try await store.query(RequestLogQuery(connectionId: "cxn_39", limit: 10)).map(\.requestId) == ["ppx_f000039"])
            #expect(try await store.query(RequestLogQuery(connectionId: "cxn_40", limit: 10)).isEmpty)
        }
    }
}
