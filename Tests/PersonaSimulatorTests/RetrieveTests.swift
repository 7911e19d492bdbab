import Foundation
import Hummingbird
import HummingbirdTesting
import PersonaSimulator
import Testing

@Suite struct RetrieveTests {
    static let fixedPath = "/api/v1/connect/connections/cxn_ABC123"

    @Test func defaultIsKebabWithPersonaHeaders() async throws {
        let sim = SimulatorHarness()
        try await sim.run { client in
            let response = try await client.execute(uri: Self.fixedPath, method: .get, headers: sim.headers())
            #expect(response.status == .ok)
            #expect(
                response.bodyString
                    == #"{"data":{"type":"connect/connection","id":"cxn_ABC123","attributes":{"status":"pending","#
                    + #""source-organization-id":"org_ABC123","destination-organization-id":"org_XYZ789","#
                    + #""created-at":"2018-06-01T00:00:00.000Z","updated-at":"2018-06-01T00:00:00.000Z"}}}"#
            )
            #expect(response.header("Content-Type") == "application/json; charset=utf-8")
            #expect(response.header("Cache-Control") == "no-cache, no-store, max-age=0, must-revalidate")
            #expect(response.header("RateLimit-Limit") == "300")
            #expect(response.header("RateLimit-Remaining") == "299")
            #expect(response.header("RateLimit-Reset") == "60")
            #expect(response.header("Persona-Environment-Id") == sim.configuration.environmentId)
            #expect(response.header("Persona-Organization-Id") == sim.configuration.organizationId)
            #expect(!response.hasHeader("Retry-After"))
            let requestId = try #require(response.header("Request-Id"))
            #expect(requestId.hasPrefix("req_") && requestId.count == 26)
            #expect(requestId.dropFirst(4).allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) })
        }
    }

    @Test(arguments: [
        ("camel", ["status", "sourceOrganizationId", "destinationOrganizationId", "createdAt", "updatedAt"]),
        ("snake", ["status", "source_organization_id", "destination_organization_id", "created_at", "updated_at"]),
        ("kebab", ["status", "source-organization-id", "destination-organization-id", "created-at", "updated-at"]),
    ])
    func keyInflection(inflection: String, keys: [String]) async throws {
        let sim = SimulatorHarness()
        try await sim.run { client in
            let response = try await client.execute(
                uri: Self.fixedPath, method: .get, headers: sim.headers(("Key-Inflection", inflection)))
            #expect(response.status == .ok)
            #expect(Set(try response.attributes().keys) == Set(keys))
        }
    }

    @Test func sparseFieldsetsEncodedOrNot() async throws {
        let sim = SimulatorHarness()
        try await sim.run { client in
            let encoded = try await client.execute(
                uri: Self.fixedPath + "?fields%5Bconnect%2Fconnection%5D=status%2Ccreated-at", method: .get, headers: sim.headers())
            #expect(try encoded.attributes().keys.sorted() == ["created-at", "status"])
            let camel = try await client.execute(
                uri: Self.fixedPath + "?fields[connect/connection]=status,createdAt", method: .get,
                headers: sim.headers(("Key-Inflection", "camel")))
            #expect(camel.bodyString.hasSuffix(#""attributes":{"status":"pending","createdAt":"2018-06-01T00:00:00.000Z"}}}"#))
        }
    }

    @Test func bytesAreDeterministicPerInflectionAndFields() async throws {
        let sim = SimulatorHarness()
        let seeded = await sim.state.connectionIds[3]
        try await sim.run { client in
            for uri in [Self.fixedPath, "/api/v1/connect/connections/\(seeded)", Self.fixedPath + "?fields%5Bconnect%2Fconnection%5D=status"] {
                for inflection in ["kebab", "camel", "snake"] {
                    let headers = sim.headers(("Key-Inflection", inflection))
                    let first = try await client.execute(uri: uri, method: .get, headers: headers)
                    let second = try await client.execute(uri: uri, method: .get, headers: headers)
                    #expect(first.status == .ok)
                    #expect(first.bodyBytes == second.bodyBytes)
                    #expect(first.header("Request-Id") != second.header("Request-Id"))
                }
            }
            let kebab = try await client.execute(uri: Self.fixedPath, method: .get, headers: sim.headers())
            let camel = try await client.execute(uri: Self.fixedPath, method: .get, headers: sim.headers(("Key-Inflection", "camel")))
            #expect(kebab.bodyBytes != camel.bodyBytes)
        }
    }

    @Test func seededIdsAreStableAcrossStarts() async throws {
        let first = await SimulatorState(configuration: SimulatorConfiguration()).connectionIds
        let second = await SimulatorState(configuration: SimulatorConfiguration()).connectionIds
        #expect(first == second)
        #expect(first.count == 26)
        #expect(first.first == "cxn_ABC123")
        #expect(Set(first).count == 26)
        for id in first.dropFirst() {
            #expect(id.hasPrefix("cxn_") && id.count == 26)
            #expect(id.dropFirst(4).allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) })
        }
        // A seeded connection is served, creator relationship included.
        let sim = SimulatorHarness()
        try await sim.run { client in
            let response = try await client.execute(uri: "/api/v1/connect/connections/\(first[1])", method: .get, headers: sim.headers())
            #expect(response.status == .ok)
            #expect(response.bodyString.contains(#""relationships":{"creator":{"data":{"id":"user_"#))
        }
    }

    @Test func personaVersionAndKeyInflectionAreValidated() async throws {
        let sim = SimulatorHarness()
        try await sim.run { client in
            for version in ["2025-12-08", "2023-01-05", "2020-05-18", "2023-01-05, 2023-01-05"] {
                let response = try await client.execute(
                    uri: Self.fixedPath, method: .get, headers: sim.headers(("Persona-Version", version)))
                #expect(response.status == .ok, "Persona-Version \(version)")
            }
            let badVersion = try await client.execute(
                uri: Self.fixedPath, method: .get, headers: sim.headers(("Persona-Version", "2024-01-01")))
            #expect(badVersion.status == .badRequest)
            #expect(badVersion.bodyString == #"{"errors":[{"title":"Bad Request","details":"Persona-Version 2024-01-01 is not a valid API version"}]}"#)
            #expect(badVersion.hasHeader("Request-Id"))
            #expect(badVersion.hasHeader("RateLimit-Remaining"))
            let badInflection = try await client.execute(
                uri: Self.fixedPath, method: .get, headers: sim.headers(("Key-Inflection", "pascal")))
            #expect(badInflection.status == .badRequest)
        }
    }

    @Test func unknownIdIsRecordNotFound() async throws {
        let sim = SimulatorHarness()
        try await sim.run { client in
            let response = try await client.execute(uri: "/api/v1/connect/connections/cxn_nope", method: .get, headers: sim.headers())
            #expect(response.status == .notFound)
            #expect(response.bodyString == #"{"errors":[{"title":"Record not found"}]}"#)
            #expect(response.hasHeader("Request-Id"))
            #expect(response.header("RateLimit-Remaining") == "299")
            #expect(response.header("Content-Type") == "application/json; charset=utf-8")
        }
    }
}
