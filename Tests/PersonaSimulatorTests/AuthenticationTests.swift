import Hummingbird
import HummingbirdTesting
import PersonaSimulator
import Testing

@Suite struct AuthenticationTests {
    static let unauthorizedBody = #"{"errors":[{"title":"Must be authenticated to access this endpoint"}]}"#
    static let forbiddenHeaders = [
        "Request-Id", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset",
        "Persona-Environment-Id", "Persona-Organization-Id", "Retry-After",
    ]

    @Test(arguments: [nil, "Bearer wrong-key", "Basic cGVyc29uYQ==", "Bearer", "persona_sandbox_simulator-key"])
    func missingOrWrongBearerIs401WithoutPersonaHeaders(authorization: String?) async throws {
        let sim = SimulatorHarness()
        try await sim.run { client in
            let headers = authorization.map { plainHeaders(("Authorization", $0)) } ?? plainHeaders()
            for uri in [RetrieveTests.fixedPath, "/api/v1/rate-limits", "/api/v1/no-such-route"] {
                let response = try await client.execute(uri: uri, method: .get, headers: headers)
                #expect(response.status == .unauthorized)
                #expect(response.bodyString == Self.unauthorizedBody)
                for name in Self.forbiddenHeaders {
                    #expect(!response.hasHeader(name), "\(name) on a 401")
                }
            }
        }
        let records = await sim.state.requests
        #expect(records.count == 3)
        #expect(records.allSatisfy { $0.status == 401 && $0.requestId == nil })
    }

    @Test func unauthorizedRequestsDoNotCountAgainstTheWindow() async throws {
        let sim = SimulatorHarness { $0.rateLimit = 2 }
        try await sim.run { client in
            for _ in 0..<5 {
                _ = try await client.execute(uri: RetrieveTests.fixedPath, method: .get)
            }
            let response = try await client.execute(uri: RetrieveTests.fixedPath, method: .get, headers: sim.headers())
            #expect(response.status == .ok)
            #expect(response.header("RateLimit-Remaining") == "1")
        }
    }

    @Test func bearerSchemeIsCaseInsensitive() async throws {
        let sim = SimulatorHarness()
        try await sim.run { client in
            let response = try await client.execute(
                uri: RetrieveTests.fixedPath, method: .get, headers: plainHeaders(("Authorization", "bearer \(sim.apiKey)")))
            #expect(response.status == .ok)
        }
    }

    @Test func unknownRoutesArePersonaShaped404s() async throws {
        let sim = SimulatorHarness()
        try await sim.run { client in
            let outside = try await client.execute(uri: "/nothing/here", method: .get)
            #expect(outside.status == .notFound)
            #expect(outside.bodyString == #"{"errors":[{"title":"Not found"}]}"#)
            #expect(!outside.hasHeader("Request-Id"))

            let inside = try await client.execute(uri: "/api/v1/inquiries", method: .get, headers: sim.headers())
            #expect(inside.status == .notFound)
            #expect(inside.bodyString == #"{"errors":[{"title":"Not found"}]}"#)
            #expect(inside.hasHeader("Request-Id"))
            #expect(inside.header("RateLimit-Remaining") == "299")

            let wrongMethod = try await client.execute(uri: RetrieveTests.fixedPath, method: .delete, headers: sim.headers())
            #expect(wrongMethod.status == .notFound)
        }
    }
}
