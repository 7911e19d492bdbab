import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
@testable import PersonaProxy
import PersonaSimulator
import Testing

/// The list endpoint and the sweep against the simulator over loopback: Persona's own list, status
/// changes made behind the API, and the proxy's real upstream client.
@Suite struct SweepLiveTests {
    static let list = "/api/v1/connect/connections"
    static let fixed = "/api/v1/connect/connections/cxn_ABC123"

    static func proxy(_ base: URL) -> TestProxy {
        TestProxy(client: nil) { configuration in
            configuration.upstreamBaseURL = base
            configuration.cacheTTLSeconds = 300
            configuration.sweepMaxBudgetFraction = 0.5
        }
    }

    /// One walk, with the test clock moved to each pause the pacer asks for (calls are spaced).
    static func walk(_ proxy: TestProxy) async -> SweepProgress {
        let (sweep, monotonic) = (proxy.proxy.sweep, proxy.monotonic)
        return await withTaskGroup(of: SweepProgress?.self) { group in
            group.addTask { await sweep.walk() }
            group.addTask {
                while !Task.isCancelled {
                    if let wake = monotonic.nextWake { monotonic.advance(by: max(0, wake - monotonic.now())) }
                    try? await Task.sleep(for: .milliseconds(1))
                }
                return nil
            }
            let progress = await group.next()!!
            group.cancelAll()
            return progress
        }
    }

    @Test func aListPageIsPersonasBytesCachedPerQueryAndDroppedByAWrite() async throws {
        try await SimulatorLiveTests.withSimulator { base, state, simulator in
            let query = "?page%5Bsize%5D=5&filter%5Bstatus%5D=active"
            let direct = try await simulator.execute(uri: Self.list + query, method: .get, headers: [.authorization: "Bearer \(TestProxy.apiKey)"])
            await state.reset()
            let proxy = Self.proxy(base)
            try await proxy.test { http in
                let miss = try await http.execute(uri: Self.list + query, method: .get)
                let hit = try await http.execute(uri: Self.list + "?filter%5Bstatus%5D=active&page%5Bsize%5D=5", method: .get)
                #expect(miss.status == .ok)
                #expect(miss.body == direct.body, "Persona's bytes, relative links included")
                #expect(hit.body == direct.body)
                #expect(miss.headers[.cacheStatus] == "persona-proxy; fwd=miss; fwd-status=200; stored; ttl=30")
                #expect(hit.headers[.cacheStatus]?.hasPrefix("persona-proxy; hit; ttl=") == true)
                for bad in ["?page%5Bsize%5D=101", "?filter%5Bcolour%5D=red", "?page%5Bsize%5D=0"] {
                    let refused = try await http.execute(uri: Self.list + bad, method: .get)
                    #expect(refused.status == .badRequest, "\(bad)")
                    #expect(refused.text.hasPrefix(#"{"errors":[{"title":"#), "\(bad)")
                }
                #expect(await state.requests.count == 1, "one call: the refusals never reached Persona")
                let first = try #require(ListedConnection.page(miss.body)?.connections.first)
                let deactivate = try await http.execute(uri: Self.fixed.replacingOccurrences(of: "cxn_ABC123", with: first.id) + "/deactivate", method: .post)
                #expect(deactivate.status == .ok)
                let after = try await http.execute(uri: Self.list + query, method: .get)
                #expect(after.headers[.cacheStatus]?.contains("fwd=miss") == true, "the write dropped every cached page")
                #expect(ListedConnection.page(after.body)?.connections.contains { $0.id == first.id } == false)
            }
        }
    }

    @Test func theSweepRevalidatesWhatIsUnchangedAndPurgesWhatChangedBehindTheAPI() async throws {
        try await SimulatorLiveTests.withSimulator { base, state, simulator in
            let proxy = Self.proxy(base)
            let page = try await simulator.execute(uri: Self.list, method: .get, headers: [.authorization: "Bearer \(TestProxy.apiKey)"])
            let seeded = try #require(ListedConnection.page(page.body)?.connections.first?.id)
            await state.reset()
            let seededPath = Self.list + "/" + seeded
            try await proxy.test { http in
                _ = try await http.execute(uri: Self.fixed, method: .get)
                _ = try await http.execute(uri: Self.fixed, method: .get, headers: [.keyInflection: "camel"])
                _ = try await http.execute(uri: seededPath, method: .get)
                _ = try await http.execute(uri: Self.list + "/cxn_Gone0000", method: .get)
                proxy.clock.advance(by: 250)
                let changedBehind = try await simulator.execute(uri: "/_simulator/connections/\(seeded)/status?value=inactive", method: .post)
                #expect(changedBehind.status == .ok)
                let before = await state.requests.count

                let walk = await Self.walk(proxy)
                #expect(walk.stoppedBecause == nil)
                #expect(walk.pages == 1)
                #expect(walk.revalidated == 2, "both variants of cxn_ABC123")
                #expect(walk.changed == 2, "the changed connection, and the cached 404 Persona does not list")
                #expect(walk.missingChecked == 1)
                #expect(walk.calls == 2, "one page of 100, one retrieve for the id the list lacks")
                let sweepCalls = await state.requests.dropFirst(before)
                #expect(sweepCalls.allSatisfy { $0.header("User-Agent")?.contains("caller=persona-proxy/sweep") == true })

                // Past the fetch's own expiry (t+300) but within the revalidation's: a hit, its age
                // counted from the revalidation.
                proxy.clock.advance(by: 100)
                let revalidated = try await http.execute(uri: Self.fixed, method: .get)
                #expect(revalidated.headers[.cacheStatus] == "persona-proxy; hit; ttl=200; detail=revalidated-by-sweep")
                #expect(revalidated.headers[.age] == "100")
                let changed = try await http.execute(uri: seededPath, method: .get)
                #expect(changed.headers[.cacheStatus]?.contains("fwd=miss") == true)
                #expect(changed.text.contains(#""status":"inactive""#))
            }
            let status = proxy.proxy.sweep.status
            #expect(status.lastComplete?.changed == 2)
            #expect(status.current == nil)
        }
    }

    @Test func aSweepWithNothingCachedSpendsNothing() async throws {
        try await SimulatorLiveTests.withSimulator { base, state, _ in
            let proxy = Self.proxy(base)
            let walk = try await proxy.test { _ in await Self.walk(proxy) }
            #expect(walk.calls == 0)
            #expect(walk.completedAt != nil)
            #expect(await state.requests.isEmpty)
        }
    }
}
