import Foundation
import Hummingbird
import HummingbirdTesting
import PersonaSimulator
import Testing

/// Checks real simulator bodies against Persona's official OpenAPI document with
/// `validate_against_spec.py` (python3 + jsonschema), and checks that the check can fail.
///
/// The spec is not part of this repository: `PERSONA_OPENAPI_SPEC` names it (`.ci/run` sets it
/// when the shared folder is beside the clone). Without it the test is skipped, and says why.
@Suite struct SpecConformanceTests {
    static let specPath = ProcessInfo.processInfo.environment["PERSONA_OPENAPI_SPEC"].flatMap { $0.isEmpty ? nil : $0 }
    static var specURL: URL { URL(fileURLWithPath: specPath ?? "/nonexistent") }
    static let scriptURL = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("validate_against_spec.py")

    /// One collected body and the spec operation that describes it.
    struct Sample: Sendable {
        var name: String
        var path: String
        var method: String
        var status: Int
        var body: [UInt8]
    }

    @Test(.enabled(if: specPath != nil, "PERSONA_OPENAPI_SPEC is not set: it names Persona's OpenAPI spec (openapi-2025-12-08.json), which is not in this repository"))
    func responsesValidateAgainstTheOfficialSpec() async throws {
        guard FileManager.default.fileExists(atPath: Self.specURL.path) else {
            // Set but wrong: that is a broken set-up, not a reason to skip.
            Issue.record("PERSONA_OPENAPI_SPEC names \(Self.specURL.path), which does not exist.")
            return
        }
        let samples = try await collectSamples()
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }

        let valid = try run(samples, in: directory, manifestName: "valid.json")
        #expect(valid.status == 0, "\(valid.output)")
        #expect(valid.output.contains("\(samples.count) of \(samples.count) documents valid"), "\(valid.output)")

        // The same check must be able to fail: a wrong type plus an unknown attribute, and a 401
        // with a member its closed schema does not allow (exercising a components/responses $ref).
        let broken = [
            Sample(
                name: "broken-retrieve", path: "/connect/connections/{connection-id}", method: "get", status: 200,
                body: Array(#"{"data":{"type":"connect/connection","id":"cxn_X","attributes":{"status":5,"colour":"red"}}}"#.utf8)),
            Sample(
                name: "broken-401", path: "/connect/connections/{connection-id}", method: "get", status: 401,
                body: Array(#"{"errors":[{"title":"Must be authenticated to access this endpoint","details":"extra"}]}"#.utf8)),
        ]
        for sample in broken {
            let result = try run([sample], in: directory, manifestName: "\(sample.name).json")
            #expect(result.status == 1, "\(sample.name) should be rejected: \(result.output)")
            #expect(result.output.contains("FAIL"), "\(result.output)")
        }
    }

    private func collectSamples() async throws -> [Sample] {
        let sim = SimulatorHarness()
        let seeded = await sim.state.connectionIds[1]
        return try await sim.run { client in
            var samples: [Sample] = []
            func take(
                _ name: String, _ path: String, _ method: String, _ status: Int,
                uri: String, verb: HTTPRequest.Method = .get, headers: HTTPFields? = nil, body: ByteBuffer? = nil
            ) async throws -> TestResponse {
                let response = try await client.execute(uri: uri, method: verb, headers: headers ?? sim.headers(), body: body)
                #expect(response.status.code == status, "\(name): \(response.bodyString)")
                samples.append(Sample(name: name, path: path, method: method, status: status, body: response.bodyBytes))
                return response
            }
            let one = "/connect/connections/{connection-id}"
            let retrieved = try await take("retrieve", one, "get", 200, uri: RetrieveTests.fixedPath)
            _ = try await take("retrieve-seeded", one, "get", 200, uri: "/api/v1/connect/connections/\(seeded)")
            _ = try await take("not-found", one, "get", 404, uri: "/api/v1/connect/connections/cxn_nope")
            _ = try await take("unauthorized", one, "get", 401, uri: RetrieveTests.fixedPath, headers: HTTPFields())
            _ = try await take(
                "bad-version", one, "get", 400, uri: RetrieveTests.fixedPath, headers: sim.headers(("Persona-Version", "1999-01-01")))
            await sim.state.forceRateLimited(next: 1)
            _ = try await take("rate-limited", one, "get", 429, uri: RetrieveTests.fixedPath)
            _ = try await take("list", "/connect/connections", "get", 200, uri: "/api/v1/connect/connections?page%5Bsize%5D=3")
            let created = try await take(
                "create", "/connect/connections", "post", 201, uri: "/api/v1/connect/connections", verb: .post,
                headers: sim.headers(("Idempotency-Key", "spec")), body: createBody())
            _ = try await take(
                "idempotency-error", "/connect/connections", "post", 400, uri: "/api/v1/connect/connections", verb: .post,
                headers: sim.headers(("Idempotency-Key", "spec")), body: createBody(destination: "org_Other"))
            let deactivate = "/connect/connections/{connection-id}/deactivate"
            _ = try await take("deactivate", deactivate, "post", 200, uri: RetrieveTests.fixedPath + "/deactivate", verb: .post)
            _ = try await take("conflict", deactivate, "post", 409, uri: RetrieveTests.fixedPath + "/deactivate", verb: .post)
            _ = try await take(
                "reactivate", "/connect/connections/{connection-id}/reactivate", "post", 200,
                uri: RetrieveTests.fixedPath + "/reactivate", verb: .post)
            for (name, response) in [("api-log", retrieved), ("api-log-post", created)] {
                let id = try #require(response.header("Request-Id"))
                _ = try await take(name, "/api-logs/{api-log-id}", "get", 200, uri: "/api/v1/api-logs/\(id)")
            }
            _ = try await take("api-logs", "/api-logs", "get", 200, uri: "/api/v1/api-logs?page%5Bsize%5D=5")
            _ = try await take("rate-limits", "/rate-limits", "get", 200, uri: "/api/v1/rate-limits")
            return samples
        }
    }

    private func run(_ samples: [Sample], in directory: URL, manifestName: String) throws -> (status: Int32, output: String) {
        var manifest: [[String: Any]] = []
        for sample in samples {
            let file = directory.appendingPathComponent("\(sample.name).json")
            try Data(sample.body).write(to: file)
            manifest.append(["file": file.path, "path": sample.path, "method": sample.method, "status": sample.status])
        }
        let manifestURL = directory.appendingPathComponent(manifestName)
        try JSONSerialization.data(withJSONObject: manifest).write(to: manifestURL)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Self.scriptURL.path, Self.specURL.path, manifestURL.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        // Read before waiting, so a full pipe cannot block the child.
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }

    private func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("persona-simulator-spec-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
