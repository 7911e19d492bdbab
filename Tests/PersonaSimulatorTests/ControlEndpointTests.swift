import Foundation
import Hummingbird
import HummingbirdTesting
import PersonaSimulator
import Testing

@Suite struct ControlEndpointTests {
    @Test func switchesAndStats() async throws {
        let sim = SimulatorHarness()
        try await sim.run { client in
            #expect(try await client.execute(uri: "/_simulator/rate-limited?count=1", method: .post).status == .ok)
            let limited = try await client.execute(uri: RetrieveTests.fixedPath, method: .get, headers: sim.headers())
            #expect(limited.status == .tooManyRequests)

            #expect(try await client.execute(uri: "/_simulator/rate-limit?limit=2&window_seconds=10", method: .post).status == .ok)
            let limitedByTwo = try await client.execute(uri: RetrieveTests.fixedPath, method: .get, headers: sim.headers())
            #expect(limitedByTwo.header("RateLimit-Limit") == "2")
            #expect(limitedByTwo.header("RateLimit-Reset") == "10")

            _ = try await client.execute(uri: RetrieveTests.fixedPath, method: .get)
            let stats = try await client.execute(uri: "/_simulator/stats", method: .get)
            #expect(stats.status == .ok)
            #expect(stats.bodyString == #"{"requests":3,"by_status":{"200":1,"401":1,"429":1}}"#)

            #expect(try await client.execute(uri: "/_simulator/latency?ms=0", method: .post).status == .ok)
            #expect(try await client.execute(uri: "/_simulator/latency?ms=-5", method: .post).status == .badRequest)
            #expect(try await client.execute(uri: "/_simulator/rate-limited?count=x", method: .post).status == .badRequest)

            #expect(try await client.execute(uri: "/_simulator/reset", method: .post).status == .ok)
            let afterReset = try await client.execute(uri: "/_simulator/stats", method: .get)
            #expect(afterReset.bodyString == #"{"requests":0,"by_status":{}}"#)
        }
        // Control requests are never recorded.
        #expect(await sim.state.requests.isEmpty)
    }

    @Test func resetRestoresSeededConnections() async throws {
        let sim = SimulatorHarness()
        try await sim.run { client in
            _ = try await client.execute(uri: RetrieveTests.fixedPath + "/deactivate", method: .post, headers: sim.headers())
            await sim.state.reset()
            let response = try await client.execute(uri: RetrieveTests.fixedPath, method: .get, headers: sim.headers())
            #expect(try response.attributes()["status"] as? String == "pending")
            #expect(response.header("RateLimit-Remaining") == "299")
        }
    }

    @Test func latencyDelaysAnswersAndIsCancellable() async throws {
        let sim = SimulatorHarness()
        await sim.state.setLatency(.milliseconds(150))
        try await sim.run { client in
            let started = ContinuousClock.now
            let delayed = try await client.execute(uri: RetrieveTests.fixedPath, method: .get, headers: sim.headers())
            #expect(delayed.status == .ok)
            #expect(ContinuousClock.now - started >= .milliseconds(150))

            await sim.state.setLatency(.seconds(600))
            let waiting = Task { try await client.execute(uri: RetrieveTests.fixedPath, method: .get, headers: sim.headers()) }
            try await Task.sleep(for: .milliseconds(50))
            let cancelledAt = ContinuousClock.now
            waiting.cancel()
            _ = try? await waiting.value
            #expect(ContinuousClock.now - cancelledAt < .seconds(5))
        }
    }
}
