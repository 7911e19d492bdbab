import Hummingbird
import HummingbirdTesting
import PersonaSimulator
import Testing

@Suite struct IdempotencyTests {
    static let collection = "/api/v1/connect/connections"

    @Test func firstResultIsReplayedWithoutANewLog() async throws {
        let sim = SimulatorHarness()
        try await sim.run { client in
            let headers = sim.headers(("Idempotency-Key", "create-1"))
            let first = try await client.execute(uri: Self.collection, method: .post, headers: headers, body: createBody())
            #expect(first.status == .created)
            let attributes = try first.attributes()
            #expect(attributes["status"] as? String == "pending")
            #expect(attributes["source-organization-id"] as? String == sim.configuration.organizationId)
            #expect(attributes["destination-organization-id"] as? String == "org_Destination0000000000001")
            #expect(first.bodyString.contains(#""relationships":{"creator":{"data":{"id":"api_"#))

            let replay = try await client.execute(uri: Self.collection, method: .post, headers: headers, body: createBody())
            #expect(replay.status == .created)
            #expect(replay.bodyBytes == first.bodyBytes)
            // Request-Ids stay unique; the replay's names no API-log entry, as it wrote none.
            let replayId = try #require(replay.header("Request-Id"))
            #expect(replayId != first.header("Request-Id"))
            // The replay still counts against the rate limit: that layer runs first.
            #expect(replay.header("RateLimit-Remaining") == "298")
            let replayLog = try await client.execute(uri: "/api/v1/api-logs/\(replayId)", method: .get, headers: sim.headers())
            #expect(replayLog.status == .notFound)

            let logs = try await client.execute(uri: "/api/v1/api-logs", method: .get, headers: sim.headers())
            let data = try #require(try logs.jsonObject()["data"] as? [[String: Any]])
            // The create and the (404) log lookup are logged; the replay is not.
            #expect(data.compactMap { $0["id"] as? String } == [replayLog.header("Request-Id"), first.header("Request-Id")])
        }
        let records = await sim.state.requests
        #expect(records.map(\.isReplay) == [false, true, false, false])
        // Only one connection was created.
        let listed = try await sim.run { client in
            try await client.execute(uri: Self.collection + "?page%5Bsize%5D=100", method: .get, headers: sim.headers())
        }
        let all = try #require(try listed.jsonObject()["data"] as? [[String: Any]])
        #expect(all.count == 27)
    }

    @Test func sameKeyWithOtherParametersIsAnIdempotencyError() async throws {
        let sim = SimulatorHarness()
        try await sim.run { client in
            let headers = sim.headers(("Idempotency-Key", "k"))
            let first = try await client.execute(uri: Self.collection, method: .post, headers: headers, body: createBody())
            #expect(first.status == .created)
            let otherBody = try await client.execute(
                uri: Self.collection, method: .post, headers: headers, body: createBody(destination: "org_Other"))
            #expect(otherBody.status == .badRequest)
            #expect(try otherBody.errorTitle() == "Idempotency error")
            let otherPath = try await client.execute(
                uri: "/api/v1/connect/connections/cxn_ABC123/deactivate", method: .post, headers: headers)
            #expect(otherPath.status == .badRequest)
            // The stored first result is untouched.
            let replay = try await client.execute(uri: Self.collection, method: .post, headers: headers, body: createBody())
            #expect(replay.bodyBytes == first.bodyBytes)
        }
        // cxn_ABC123 was not deactivated by the refused request.
        let after = try await sim.run { client in
            try await client.execute(uri: RetrieveTests.fixedPath, method: .get, headers: sim.headers())
        }
        #expect(try after.attributes()["status"] as? String == "pending")
    }

    @Test func rateLimitedAnswersAreNeverStored() async throws {
        let sim = SimulatorHarness()
        await sim.state.forceRateLimited(next: 1)
        try await sim.run { client in
            let headers = sim.headers(("Idempotency-Key", "retry-me"))
            let limited = try await client.execute(uri: Self.collection, method: .post, headers: headers, body: createBody())
            #expect(limited.status == .tooManyRequests)
            let retried = try await client.execute(uri: Self.collection, method: .post, headers: headers, body: createBody())
            #expect(retried.status == .created)
            let unauthorized = try await client.execute(
                uri: Self.collection, method: .post, headers: plainHeaders(("Idempotency-Key", "other")), body: createBody())
            #expect(unauthorized.status == .unauthorized)
            let afterAuth = try await client.execute(
                uri: Self.collection, method: .post, headers: sim.headers(("Idempotency-Key", "other")), body: createBody())
            #expect(afterAuth.status == .created)
        }
    }

    @Test func errorsAreStoredToo() async throws {
        let sim = SimulatorHarness()
        try await sim.run { client in
            let headers = sim.headers(("Idempotency-Key", "missing"))
            let first = try await client.execute(uri: "/api/v1/connect/connections/cxn_nope/deactivate", method: .post, headers: headers)
            #expect(first.status == .notFound)
            let replay = try await client.execute(uri: "/api/v1/connect/connections/cxn_nope/deactivate", method: .post, headers: headers)
            #expect(replay.status == .notFound)
            #expect(replay.bodyBytes == first.bodyBytes)
            #expect(await sim.state.requests.last?.isReplay == true)
        }
    }

    @Test func statusTransitions() async throws {
        let sim = SimulatorHarness()
        try await sim.run { client in
            func post(_ action: String) async throws -> TestResponse {
                try await client.execute(uri: "/api/v1/connect/connections/cxn_ABC123/\(action)", method: .post, headers: sim.headers())
            }
            let reactivateEarly = try await post("reactivate")
            #expect(reactivateEarly.status == .conflict)
            #expect(try reactivateEarly.errorTitle() == "Conflict")
            let deactivated = try await post("deactivate")
            #expect(deactivated.status == .ok)
            #expect(try deactivated.attributes()["status"] as? String == "inactive")
            #expect(try await post("deactivate").status == .conflict)
            let reactivated = try await post("reactivate")
            #expect(reactivated.status == .ok)
            #expect(try reactivated.attributes()["status"] as? String == "pending")
        }
    }

    @Test(arguments: [
        #"{"data":{"attributes":{}}}"#,
        #"{"data":{"attributes":{"destination-organization-id":"org_A","status":"active"}}}"#,
        #"{"data":{"type":"connect/connection","attributes":{"destination-organization-id":"org_A"}}}"#,
        #"{"data":{"attributes":{"destination-organization-id":7}}}"#,
        "not json",
    ])
    func invalidCreateBodiesAre400(body: String) async throws {
        let sim = SimulatorHarness()
        try await sim.run { client in
            let response = try await client.execute(
                uri: Self.collection, method: .post, headers: sim.headers(), body: ByteBuffer(string: body))
            #expect(response.status == .badRequest)
        }
    }

    @Test func createAcceptsInflectedAttributeNames() async throws {
        let sim = SimulatorHarness()
        try await sim.run { client in
            let response = try await client.execute(
                uri: Self.collection, method: .post, headers: sim.headers(("Key-Inflection", "snake")),
                body: ByteBuffer(string: #"{"data":{"attributes":{"destinationOrganizationId":"org_B"}}}"#))
            #expect(response.status == .created)
            #expect(try response.attributes()["destination_organization_id"] as? String == "org_B")
        }
    }
}
