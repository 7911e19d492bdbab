import Foundation
import HTTPTypes
import HummingbirdTesting
import PersonaProxy
import Testing

/// `/metrics` as Prometheus's own linter judges it (Debian package `prometheus`; `make test`
/// installs it).
@Suite struct PromtoolTests {
    static let promtool = "/usr/bin/promtool"

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: promtool), "needs promtool (Debian package prometheus)"))
    func promtoolReportsNothing() async throws {
        let proxy = TestProxy(client: ScriptedPersonaClient.connections())
        let text = try await proxy.test { http in
            // Traffic of every kind, so every family has samples.
            _ = try await http.execute(uri: "/api/v1/connect/connections/cxn_1", method: .get)
            _ = try await http.execute(uri: "/api/v1/connect/connections/cxn_1", method: .get)
            _ = try await http.execute(uri: "/api/v1/connect/connections/bad%20id", method: .get)
            _ = try await http.execute(uri: "/nowhere", method: .get)
            return String(buffer: try await http.execute(uri: "/metrics", method: .get).body)
        }
        for family in [
            "persona_proxy_requests_total", "persona_proxy_upstream_requests_total", "persona_proxy_upstream_request_duration_seconds",
            "persona_proxy_cache_entries", "persona_proxy_request_log_rows", "persona_proxy_database_bytes", "process_resident_memory_bytes",
            "process_open_fds", "persona_proxy_uptime_seconds",
        ] {
            #expect(text.contains("# TYPE \(family)"), "missing \(family)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.promtool)
        process.arguments = ["check", "metrics"]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = output
        try process.run()
        input.fileHandleForWriting.write(Data(text.utf8))
        try input.fileHandleForWriting.close()
        let report = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(report)")
        #expect(report.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "\(report)")
    }
}
