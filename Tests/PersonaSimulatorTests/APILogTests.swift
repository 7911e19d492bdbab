import Foundation
import Hummingbird
import HummingbirdTesting
import PersonaSimulator
import Testing

@Suite struct APILogTests {
    @Test func logNamesTheCallerAndNeverTheKey() async throws {
        let sim = SimulatorHarness()
        try await sim.run { client in
            let call = try await client.execute(
                uri: RetrieveTests.fixedPath + "?fields%5Bconnect%2Fconnection%5D=status",
                method: .get,
                headers: sim.headers(
                    ("User-Agent", "billing-service via persona-proxy/1.0"),
                    ("Persona-Version", "2025-12-08"),
                    ("Key-Inflection", "kebab"),
                    ("Accept", "application/json")
                )
            )
            let requestId = try #require(call.header("Request-Id"))
            let log = try await client.execute(uri: "/api/v1/api-logs/\(requestId)", method: .get, headers: sim.headers())
            #expect(log.status == .ok)
            #expect(!log.bodyString.contains(sim.apiKey))
            let data = try #require(try log.jsonObject()["data"] as? [String: Any])
            #expect(data["type"] as? String == "api-log")
            #expect(data["id"] as? String == requestId)
            let attributes = try #require(data["attributes"] as? [String: Any])
            let request = try #require(attributes["request"] as? [String: Any])
            #expect(request["method"] as? String == "GET")
            #expect(request["path"] as? String == RetrieveTests.fixedPath)
            #expect(request["ip-address"] as? String == "127.0.0.1")
            let headers = try #require(request["headers"] as? [String: String])
            #expect(headers["User-Agent"] == "billing-service via persona-proxy/1.0")
            #expect(headers["Persona-Version"] == "2025-12-08")
            #expect(headers["Accept"] == "application/json")
            #expect(headers["Authorization"] == "Bearer ********")
            #expect(headers["Key-Inflection"] == nil)
            let getParams = try #require(request["get-params"] as? [String: [String: String]])
            #expect(getParams["fields"]?["connect/connection"] == "status")
            let response = try #require(attributes["response"] as? [String: Any])
            #expect(response["status"] as? Int == 200)
            let responseHeaders = try #require(response["headers"] as? [String: Any])
            #expect(responseHeaders["Request-Id"] as? String == requestId)
            #expect(responseHeaders["RateLimit-Remaining"] as? Int == 299)
            #expect(attributes["redacted-at"] is NSNull)
            let createdAt = try #require(attributes["created-at"] as? String)
            #expect(createdAt.hasSuffix("+00:00") && createdAt.count == 29)
        }
    }

    @Test func errorsAndRateLimitedRequestsAreLoggedButNot401s() async throws {
        // One allowed request: the 401 costs nothing, the 404 uses it up, the list gets a 429.
        let sim = SimulatorHarness { $0.rateLimit = 1 }
        try await sim.run { client in
            _ = try await client.execute(uri: RetrieveTests.fixedPath, method: .get)
            let missing = try await client.execute(uri: "/api/v1/connect/connections/cxn_nope", method: .get, headers: sim.headers())
            let limited = try await client.execute(uri: "/api/v1/api-logs", method: .get, headers: sim.headers())
            #expect(limited.status == .tooManyRequests)
            await sim.state.setRateLimit(100, window: .seconds(60))
            let list = try await client.execute(uri: "/api/v1/api-logs", method: .get, headers: sim.headers())
            let data = try #require(try list.jsonObject()["data"] as? [[String: Any]])
            #expect(data.compactMap { $0["id"] as? String } == [limited.header("Request-Id"), missing.header("Request-Id")])
            let statuses = data.compactMap { (($0["attributes"] as? [String: Any])?["response"] as? [String: Any])?["status"] as? Int }
            #expect(statuses == [429, 404])
        }
    }

    @Test func listPaginatesNewestFirst() async throws {
        let sim = SimulatorHarness()
        try await sim.run { client in
            var ids: [String] = []
            for _ in 0..<3 {
                let response = try await client.execute(uri: RetrieveTests.fixedPath, method: .get, headers: sim.headers())
                ids.append(try #require(response.header("Request-Id")))
            }
            let page = try await client.execute(uri: "/api/v1/api-logs?page%5Bsize%5D=2", method: .get, headers: sim.headers())
            let object = try page.jsonObject()
            let data = try #require(object["data"] as? [[String: Any]])
            #expect(data.compactMap { $0["id"] as? String } == [ids[2], ids[1]])
            let links = try #require(object["links"] as? [String: Any])
            #expect(links["prev"] is NSNull)
            #expect(links["next"] as? String == "/api/v1/api-logs?page%5Bafter%5D=\(ids[1])&page%5Bsize%5D=2")
        }
    }

    @Test func unknownLogIsRecordNotFound() async throws {
        let sim = SimulatorHarness()
        try await sim.run { client in
            let response = try await client.execute(uri: "/api/v1/api-logs/req_nope", method: .get, headers: sim.headers())
            #expect(response.status == .notFound)
            #expect(response.bodyString == #"{"errors":[{"title":"Record not found"}]}"#)
        }
    }
}
