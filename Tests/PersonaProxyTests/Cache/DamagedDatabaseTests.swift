import Foundation
import HummingbirdTesting
import PersonaProxy
import Testing

/// A damaged file at start: the disposable cache is moved aside and rebuilt; the audit trail is
/// never replaced, only reported, and the proxy serves meanwhile.
@Suite struct DamagedDatabaseTests {
    @Test func aDamagedCacheIsMovedAsideAndADamagedRequestLogIsLeftAloneAndReported() async throws {
        let directory = TestDirectory()
        let garbage = Data(String(repeating: "this is not a database ", count: 400).utf8)
        try garbage.write(to: URL(fileURLWithPath: directory.path + "/cache.sqlite"))
        try garbage.write(to: URL(fileURLWithPath: directory.path + "/requests.sqlite"))
        let proxy = TestProxy(client: ScriptedPersonaClient.connections(), directory: directory)
        try await proxy.test { http in
            let ready = try await http.execute(uri: "/readyz", method: .get)
            #expect(ready.status == .serviceUnavailable)
            #expect(ready.text.contains("request_log.path") && ready.text.contains("damaged"))
            #expect(!ready.text.contains("cache.path"), "the cache was rebuilt and is fine")
            let answer = try await http.execute(uri: "/api/v1/connect/connections/cxn_ABC123", method: .get)
            #expect(answer.status == .ok, "the proxy serves while the audit trail waits for an operator")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: proxy.requestLogPath)) == garbage, "the audit trail is untouched")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        let aside = try #require(files.first { $0.hasPrefix("cache.sqlite.damaged-") })
        #expect(try Data(contentsOf: URL(fileURLWithPath: directory.path + "/" + aside)) == garbage, "the damaged cache is kept for inspection")
    }
}
