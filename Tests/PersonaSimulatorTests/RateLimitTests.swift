import Hummingbird
import HummingbirdTesting
import PersonaSimulator
import Testing

@Suite struct RateLimitTests {
    static func limitedBody(_ limit: Int) -> String {
        #"{"errors":[{"title":"Rate limit exceeded","details":"You have hit your rate limit of \#(limit) requests / min. "#
            + #"Please reach out to support@withpersona.com if you need this changed."}]}"#
    }

    @Test func fixedWindowOfThree() async throws {
        let sim = SimulatorHarness {
            $0.rateLimit = 3
            $0.rateLimitWindow = .seconds(60)
        }
        try await sim.run { client in
            func get() async throws -> TestResponse {
                try await client.execute(uri: RetrieveTests.fixedPath, method: .get, headers: sim.headers())
            }
            for expectedRemaining in ["2", "1", "0"] {
                let response = try await get()
                #expect(response.status == .ok)
                #expect(response.header("RateLimit-Limit") == "3")
                #expect(response.header("RateLimit-Remaining") == expectedRemaining)
                #expect(response.header("RateLimit-Reset") == "60")
                sim.clock.advance(by: .milliseconds(100))
            }
            // 0.3 s into the window: 59.7 s left, reported rounded up.
            let limited = try await get()
            #expect(limited.status == .tooManyRequests)
            #expect(limited.bodyString == Self.limitedBody(3))
            #expect(limited.header("RateLimit-Remaining") == "0")
            #expect(limited.header("RateLimit-Reset") == "60")
            #expect(limited.hasHeader("Request-Id"))
            #expect(limited.hasHeader("Persona-Environment-Id"))
            #expect(!limited.hasHeader("Retry-After"))

            sim.clock.advance(by: .seconds(20))
            let stillLimited = try await get()
            #expect(stillLimited.status == .tooManyRequests)
            #expect(stillLimited.header("RateLimit-Reset") == "40")

            // Past the end of the window (started at t=0, now t=60.3): a new window opens.
            sim.clock.advance(by: .seconds(40))
            let allowed = try await get()
            #expect(allowed.status == .ok)
            #expect(allowed.header("RateLimit-Remaining") == "2")
            #expect(allowed.header("RateLimit-Reset") == "60")
        }
        let statuses = await sim.state.requests.map(\.status)
        #expect(statuses == [200, 200, 200, 429, 429, 200])
    }

    @Test func forcedRateLimitsComeFirstAndLeaveTheWindowAlone() async throws {
        let sim = SimulatorHarness()
        await sim.state.forceRateLimited(next: 2)
        try await sim.run { client in
            for _ in 0..<2 {
                let response = try await client.execute(uri: RetrieveTests.fixedPath, method: .get, headers: sim.headers())
                #expect(response.status == .tooManyRequests)
                #expect(response.bodyString == Self.limitedBody(300))
                #expect(response.header("RateLimit-Remaining") == "0")
                #expect(response.hasHeader("Request-Id"))
            }
            let response = try await client.execute(uri: RetrieveTests.fixedPath, method: .get, headers: sim.headers())
            #expect(response.status == .ok)
            #expect(response.header("RateLimit-Remaining") == "299")
        }
    }

    @Test func rateLimitsEndpointMatchesHeaders() async throws {
        let sim = SimulatorHarness { $0.rateLimit = 10 }
        try await sim.run { client in
            _ = try await client.execute(uri: RetrieveTests.fixedPath, method: .get, headers: sim.headers())
            sim.clock.advance(by: .milliseconds(12_500))
            let response = try await client.execute(uri: "/api/v1/rate-limits", method: .get, headers: sim.headers())
            #expect(response.status == .ok)
            #expect(
                response.bodyString
                    == #"{"data":[{"type":"rate-limit/api","attributes":{"limit":10,"remaining":8,"seconds-to-reset":48}}]}"#)
            #expect(response.header("RateLimit-Remaining") == "8")
            #expect(response.header("RateLimit-Reset") == "48")
            let camel = try await client.execute(
                uri: "/api/v1/rate-limits", method: .get, headers: sim.headers(("Key-Inflection", "camel")))
            #expect(camel.bodyString.contains(#""secondsToReset":48"#))
        }
    }

    @Test func setRateLimitTakesEffectWithAFreshWindow() async throws {
        let sim = SimulatorHarness()
        try await sim.run { client in
            _ = try await client.execute(uri: RetrieveTests.fixedPath, method: .get, headers: sim.headers())
            await sim.state.setRateLimit(1, window: .seconds(5))
            let first = try await client.execute(uri: RetrieveTests.fixedPath, method: .get, headers: sim.headers())
            #expect(first.header("RateLimit-Limit") == "1")
            #expect(first.header("RateLimit-Remaining") == "0")
            #expect(first.header("RateLimit-Reset") == "5")
            let second = try await client.execute(uri: RetrieveTests.fixedPath, method: .get, headers: sim.headers())
            #expect(second.status == .tooManyRequests)
            #expect(second.bodyString == Self.limitedBody(1))
        }
    }
}
