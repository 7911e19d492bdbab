import Foundation
import NIOCore
@testable import PersonaProxy
import Testing

/// The sweep's pure parts: reading Persona's list, judging a cached variant against it, pacing.
@Suite struct SweepDecisionTests {
    static let fetchedAt = Date(timeIntervalSince1970: 1_800_000_000)

    static func entry(_ body: String, status: Int = 200) -> CachedEntry {
        CachedEntry(
            key: CacheKey(connectionId: "cxn_1", personaVersion: "", keyInflection: "", fields: ""), status: status, body: ByteBuffer(string: body),
            contentType: "application/json", personaRequestId: "req_1", environmentId: nil, organizationId: nil, fetchedAt: fetchedAt,
            expiresAt: fetchedAt.addingTimeInterval(300))
    }

    static let listed = ListedConnection(id: "cxn_1", status: "active", updatedAt: "2027-01-15T08:00:00.000Z")

    @Test func aPageGivesItsConnectionsInAnyInflectionAndTheNextCursor() throws {
        let body = """
            {"data":[{"type":"connect/connection","id":"cxn_1","attributes":{"status":"active","updated-at":"2027-01-15T08:00:00.000Z"}},
            {"type":"connect/connection","id":"cxn_2","attributes":{"status":"inactive","updatedAt":"2027-01-16T08:00:00.000Z"}}],
            "links":{"prev":null,"next":"/api/v1/connect/connections?page%5Bafter%5D=cxn_2&page%5Bsize%5D=100"}}
            """
        let page = try #require(ListedConnection.page(ByteBuffer(string: body)))
        #expect(page.connections == [Self.listed, ListedConnection(id: "cxn_2", status: "inactive", updatedAt: "2027-01-16T08:00:00.000Z")])
        #expect(page.next == "cxn_2")
        #expect(ListedConnection.page(ByteBuffer(string: #"{"data":[],"links":{"prev":null,"next":null}}"#))?.next == nil)
        #expect(ListedConnection.page(ByteBuffer(string: "<html>")) == nil)
    }

    @Test func aVariantSayingWhatTheListSaysIsUnchangedAndAnyDifferenceIsAChange() {
        let same = #"{"data":{"id":"cxn_1","attributes":{"status":"active","updated-at":"2027-01-15T08:00:00.000Z"}}}"#
        let camel = #"{"data":{"id":"cxn_1","attributes":{"status":"active","updatedAt":"2027-01-15T08:00:00.000Z"}}}"#
        #expect(SweepJudgement.judge(Self.entry(same), against: Self.listed) == .unchanged)
        #expect(SweepJudgement.judge(Self.entry(camel), against: Self.listed) == .unchanged)
        let deactivated = #"{"data":{"id":"cxn_1","attributes":{"status":"pending","updated-at":"2027-01-15T08:00:00.000Z"}}}"#
        #expect(SweepJudgement.judge(Self.entry(deactivated), against: Self.listed) == .changed("status pending → active"))
        let touched = #"{"data":{"id":"cxn_1","attributes":{"status":"active","updated-at":"2027-01-14T08:00:00.000Z"}}}"#
        guard case .changed = SweepJudgement.judge(Self.entry(touched), against: Self.listed) else {
            Issue.record("a moved updated-at went unnoticed")
            return
        }
        let notFound = #"{"errors":[{"title":"Record not found"}]}"#
        #expect(SweepJudgement.judge(Self.entry(notFound, status: 404), against: Self.listed) == .changed("listed, but cached as 404"))
    }

    /// A sparse fieldset without status or updated-at is judged by time, with room for Persona's
    /// clock to run ahead of ours: unchanged only if updated well before the fetch.
    @Test func aSparseVariantIsJudgedByWhenItWasFetched() {
        let sparse = #"{"data":{"id":"cxn_1","attributes":{"created-at":"2024-01-01T00:00:00.000Z"}}}"#
        let format = ISO8601DateFormatter()
        func listed(updated offset: TimeInterval) -> ListedConnection {
            ListedConnection(id: "cxn_1", status: "active", updatedAt: format.string(from: Self.fetchedAt.addingTimeInterval(offset)))
        }
        #expect(SweepJudgement.judge(Self.entry(sparse), against: listed(updated: -3600)) == .unchanged)
        #expect(SweepJudgement.judge(Self.entry(sparse), against: listed(updated: -30)) == .changed("updated after the fetch"))
        #expect(SweepJudgement.judge(Self.entry(sparse), against: listed(updated: 10)) == .changed("updated after the fetch"))
    }

    @Test func thePacerSpacesCallsEvenlyWithinTheShareOfEveryWindow() {
        var pacer = SweepPacer(fraction: 0.1)
        #expect(pacer.allowance(limit: 300) == 30)
        #expect(pacer.allowance(limit: nil) == 30, "Persona's documented 300 until a limit is seen")
        #expect(pacer.allowance(limit: 5) == 1, "always some progress")
        #expect(pacer.delay(now: 0, limit: 300) == 0, "the first call goes at once")
        pacer.called(at: 0)
        #expect(pacer.delay(now: 0.5, limit: 300) == 1.5, "then one every 2 s: 30 a minute")
        #expect(pacer.delay(now: 3, limit: 300) == 0)
        #expect(pacer.delay(now: 0.5, limit: 600) == 0.5, "a larger limit, a larger share")
        // Any 60 s holds at most 30 starts.
        var starts: [Double] = []
        var now = 0.0
        pacer = SweepPacer(fraction: 0.1)
        while starts.count < 100 {
            now += pacer.delay(now: now, limit: 300)
            starts.append(now)
            pacer.called(at: now)
            now += 0.3  // the call itself
        }
        #expect(starts.indices.allSatisfy { i in starts[i...].prefix { $0 < starts[i] + 60 }.count <= 30 })
    }
}
