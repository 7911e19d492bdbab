import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import PersonaProxy
import Testing

@Suite struct ReloadTests {
    static func load(_ file: String) -> @Sendable () async throws -> ProxyConfiguration {
        {
            let reader = try await ConfigurationSources.reader(configFile: file, overrides: [], environment: [:])
            return try ProxyConfiguration(reader: reader)
        }
    }

    @Test func aNewTTLAppliesToNewEntriesWithoutDroppingTheCache() async throws {
        let directory = TemporaryDirectory()
        let file = directory.path + "/proxy.yaml"
        try "cache:\n  ttl_seconds: 300\n".write(toFile: file, atomically: true, encoding: .utf8)
        let proxy = TestProxy(client: ScriptedPersonaClient.connections())
        let reload = ReloadService(live: proxy.proxy.live, load: Self.load(file), logger: Logger(label: "t"))
        try await proxy.test { http in
            let before = try await http.execute(uri: "/api/v1/connect/connections/cxn_old", method: .get)
            #expect(before.headers[.cacheStatus]?.hasSuffix("ttl=300") == true)
            try "cache:\n  ttl_seconds: 60\nlog:\n  level: debug\nserver:\n  port: 9999\n".write(toFile: file, atomically: true, encoding: .utf8)
            let outcome = try #require(await reload.reload())
            #expect(outcome.applied.contains("cache.ttl_seconds"))
            #expect(outcome.applied.contains("log.level"))
            // The file names no cache.path, so the default differs from the running one too.
            #expect(outcome.needRestart == ["cache.path", "request_log.path", "server.port"])
            #expect(proxy.proxy.live.logLevel.level == .debug)
            #expect(proxy.proxy.live.value.serverPort == 0, "the listener keeps its address until a restart")
            let after = try await http.execute(uri: "/api/v1/connect/connections/cxn_new", method: .get)
            #expect(after.headers[.cacheStatus]?.hasSuffix("ttl=60") == true)
            let kept = try await http.execute(uri: "/api/v1/connect/connections/cxn_old", method: .get)
            #expect(kept.headers[.cacheStatus] == "persona-proxy; hit; ttl=300", "the cache and its entries were kept")
        }
    }

    @Test func aBrokenFileIsRefusedAndTheRunningConfigurationStays() async throws {
        let directory = TemporaryDirectory()
        let file = directory.path + "/proxy.yaml"
        try "cache:\n  ttl_seconds: 120\n".write(toFile: file, atomically: true, encoding: .utf8)
        let live = LiveConfiguration(try await Self.load(file)())
        let reload = ReloadService(live: live, load: Self.load(file), logger: Logger(label: "t"))
        for broken in ["cache:\n  ttl_seconds: soon\n", "cache: [unclosed\n", "rate_limit:\n  reserve_fraction: 2\n"] {
            try broken.write(toFile: file, atomically: true, encoding: .utf8)
            #expect(await reload.reload() == nil, "\(broken)")
            #expect(live.value.cacheTTLSeconds == 120)
        }
    }
}

@Suite struct CacheAdminRoutesTests {
    @Test func showsVariantsPurgesOneAndRefusesAnUnconfirmedPurgeAll() async throws {
        let client = ScriptedPersonaClient.connections()
        let proxy = TestProxy(client: client)
        try await proxy.test { http in
            _ = try await http.execute(uri: "/api/v1/connect/connections/cxn_1", method: .get)
            _ = try await http.execute(uri: "/api/v1/connect/connections/cxn_1", method: .get, headers: [.keyInflection: "camel"])
            _ = try await http.execute(uri: "/api/v1/connect/connections/cxn_2", method: .get)
            let variants = try await http.execute(uri: "/admin/cache/cxn_1", method: .get)
            #expect(variants.status == .ok)
            let text = String(buffer: variants.body)
            #expect(text.contains(#""key_inflection":"camel""#))
            #expect(text.contains(#""persona_request_id":"req_scripted_1""#))
            #expect(text.contains(#""fresh":true"#))
            let stats = try await http.execute(uri: "/admin/cache", method: .get)
            #expect(String(buffer: stats.body).contains(#""entries":3"#))
            let purged = try await http.execute(uri: "/admin/cache/cxn_1", method: .delete)
            #expect(String(buffer: purged.body) == #"{"data":{"purged":2}}"#)
            let again = try await http.execute(uri: "/api/v1/connect/connections/cxn_1", method: .get)
            #expect(again.headers[.cacheStatus]?.contains("fwd=miss") == true)
            #expect(try await http.execute(uri: "/admin/cache/cxn_404", method: .get).status == .notFound)
            let refused = try await http.execute(uri: "/admin/cache", method: .delete)
            #expect(refused.status == .badRequest)
            let all = try await http.execute(uri: "/admin/cache?confirm=true", method: .delete)
            #expect(String(buffer: all.body) == #"{"data":{"purged":2}}"#)
        }
        #expect(client.requests.count == 4)
    }
}

@Suite struct ProxyLogHandlerTests {
    final class Lines: @unchecked Sendable {
        var lines: [String] = []
    }

    @Test func logfmtQuotesWhatNeedsQuotingAndJournaldGetsNoTimestamp() {
        let lines = Lines()
        let control = LogLevelControl()
        var logger = Logger(label: "persona-proxy") { label in
            ProxyLogHandler(label: label, format: .logfmt, timestamps: false, control: control, write: { lines.lines.append($0) })
        }
        logger.logLevel = .info
        logger.debug("hidden")
        logger.info("request", metadata: ["path": "/api/v1/connect/connections/cxn_1", "caller": "billing svc", "status": "200"])
        #expect(lines.lines == [#"level=info msg=request caller="billing svc" path=/api/v1/connect/connections/cxn_1 status=200 logger=persona-proxy"# + "\n"])
        control.level = .debug
        logger.debug("now shown")
        #expect(lines.lines.count == 2, "a reload's new level reaches existing loggers")
    }

    @Test func jsonLinesAreJSON() throws {
        let lines = Lines()
        let logger = Logger(label: "p") { label in
            ProxyLogHandler(label: label, format: .json, timestamps: true, control: LogLevelControl(), write: { lines.lines.append($0) })
        }
        logger.warning("quote \" and newline\n", metadata: ["k": "v"])
        let object = try JSONSerialization.jsonObject(with: Data(lines.lines[0].utf8)) as? [String: String]
        #expect(object?["msg"] == "quote \" and newline\n")
        #expect(object?["level"] == "warning")
        #expect(object?["ts"] != nil)
    }
}
