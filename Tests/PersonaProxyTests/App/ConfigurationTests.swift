import Foundation
import PersonaProxy
import Testing

@Suite struct ConfigurationTests {
    func load(yaml: String? = nil, flags: [String] = [], environment: [String: String] = [:]) async throws -> ProxyConfiguration {
        let directory = TemporaryDirectory()
        var file: String?
        if let yaml {
            file = directory.path + "/config.yaml"
            try yaml.write(toFile: file!, atomically: true, encoding: .utf8)
        }
        let reader = try await ConfigurationSources.reader(configFile: file, overrides: flags, environment: environment)
        return try ProxyConfiguration(reader: reader)
    }

    func error(yaml: String? = nil, flags: [String] = [], environment: [String: String] = [:]) async -> ConfigurationError? {
        do {
            _ = try await load(yaml: yaml, flags: flags, environment: environment)
            return nil
        } catch let error as ConfigurationError {
            return error
        } catch {
            Issue.record("unexpected error \(error)")
            return nil
        }
    }

    @Test func defaultsMatchTheDocumentedTable() async throws {
        let configuration = try await load()
        #expect(configuration.serverHost == "127.0.0.1")
        #expect(configuration.serverPort == 8080)
        #expect(configuration.upstreamBaseURL.absoluteString == "https://api.withpersona.com")
        #expect(configuration.apiKeyFile == nil)
        #expect(configuration.personaVersion == nil)
        #expect(configuration.upstreamTimeoutSeconds == 10)
        #expect(configuration.cachePath == "./data/cache.sqlite")
        #expect(configuration.cacheTTLSeconds == 300)
        #expect(configuration.notFoundTTLSeconds == 30)
        #expect(configuration.logLevel == .info)
    }

    @Test func flagBeatsEnvironmentBeatsFile() async throws {
        let yaml = "cache:\n  ttl_seconds: 100\n  not_found_ttl_seconds: 5\nserver:\n  port: 9001\n"
        let fileOnly = try await load(yaml: yaml)
        #expect(fileOnly.cacheTTLSeconds == 100)
        #expect(fileOnly.serverPort == 9001)
        let withEnvironment = try await load(yaml: yaml, environment: ["CACHE_TTL_SECONDS": "200"])
        #expect(withEnvironment.cacheTTLSeconds == 200)
        #expect(withEnvironment.notFoundTTLSeconds == 5)
        let withFlag = try await load(yaml: yaml, flags: ["--cache-ttl-seconds", "300.5"], environment: ["CACHE_TTL_SECONDS": "200"])
        #expect(withFlag.cacheTTLSeconds == 300.5)
        let equalsForm = try await load(flags: ["--upstream-persona-version=2025-12-08"])
        #expect(equalsForm.personaVersion == "2025-12-08")
    }

    /// A file with clients (a list of mappings) is read whole; values are the text as written.
    @Test func aFileWithClientsIsReadAndValuesStayAsWritten() async throws {
        let hash = String(repeating: "ab", count: 32)
        let yaml = """
            upstream:
              persona_version: 2025-12-08
              allowed_persona_versions: [2025-12-08, 2023-01-05]
            server:
              metrics_require_token: true
            cache:
              ttl_seconds: 60
              stale_if_error_seconds:
            clients:
              - name: billing
                token_sha256: \(hash)
                scopes: [read]

            """
        let configuration = try await load(yaml: yaml)
        #expect(configuration.personaVersion == "2025-12-08", "not a YAML timestamp")
        #expect(configuration.allowedPersonaVersions == ["2025-12-08", "2023-01-05"])
        #expect(configuration.metricsRequireToken)
        #expect(configuration.cacheTTLSeconds == 60)
        #expect(configuration.staleIfErrorSeconds == ProxyConfiguration().staleIfErrorSeconds, "an empty value leaves the default")
    }

    @Test func badValuesNameTheirKey() async {
        #expect(await error(yaml: "cache:\n  ttl_seconds: soon\n")?.key == "cache.ttl_seconds")
        #expect(await error(environment: ["SERVER_PORT": "70000"])?.key == "server.port")
        #expect(await error(flags: ["--upstream-base-url", "ftp://x"])?.key == "upstream.base_url")
        #expect(await error(flags: ["--upstream-base-url", "https://api.withpersona.com/api/v1"])?.key == "upstream.base_url")
        #expect(await error(flags: ["--upstream-persona-version", "latest"])?.key == "upstream.persona_version")
        #expect(await error(flags: ["--log-level", "loud"])?.key == "log.level")
        #expect(await error(flags: ["--upstream-timeout-seconds", "0"])?.key == "upstream.timeout_seconds")
    }

    @Test func unknownFlagIsAnErrorNotSilentlyIgnored() async {
        let failure = await error(flags: ["--cache-ttl", "5"])
        #expect(failure?.key == "--cache-ttl")
        #expect(failure?.message.contains("--cache-ttl-seconds") == true)
    }

    @Test func missingConfigFileIsAnError() async throws {
        do {
            _ = try await ConfigurationSources.reader(configFile: "/nonexistent/persona-proxy.yaml", overrides: [], environment: [:])
            Issue.record("expected an error")
        } catch {
            #expect(error.key == "--config")
        }
    }

    @Test func everyKeyHasAFlag() {
        #expect(ConfigurationSources.flagName(for: "cache.not_found_ttl_seconds") == "--cache-not-found-ttl-seconds")
    }
}

@Suite struct APIKeyTests {
    @Test func credentialDirectoryComesFirstThenFileThenEnvironment() throws {
        let directory = TemporaryDirectory()
        try "from-credential\n".write(toFile: directory.path + "/persona-api-key", atomically: true, encoding: .utf8)
        try "from-file".write(toFile: directory.path + "/key-file", atomically: true, encoding: .utf8)
        let all = ["CREDENTIALS_DIRECTORY": directory.path, "PERSONA_API_KEY": "from-env"]
        #expect(try APIKey.load(apiKeyFile: directory.path + "/key-file", environment: all).reveal() == "from-credential")
        #expect(try APIKey.load(apiKeyFile: directory.path + "/key-file", environment: ["PERSONA_API_KEY": "from-env"]).reveal() == "from-file")
        #expect(try APIKey.load(apiKeyFile: nil, environment: ["PERSONA_API_KEY": "from-env"]).reveal() == "from-env")
    }

    @Test func missingKeySaysWhereItLooked() {
        do {
            _ = try APIKey.load(apiKeyFile: nil, environment: [:])
            Issue.record("expected an error")
        } catch {
            #expect(error.message.contains("CREDENTIALS_DIRECTORY"))
            #expect(error.message.contains("upstream.api_key_file"))
            #expect(error.message.contains("PERSONA_API_KEY"))
        }
    }

    @Test func namedKeyFileThatIsMissingIsAnError() {
        #expect(throws: ConfigurationError(key: "upstream.api_key_file", message: "the file /nonexistent/key does not exist")) {
            try APIKey.load(apiKeyFile: "/nonexistent/key", environment: ["PERSONA_API_KEY": "x"])
        }
    }

    @Test func keyNeverAppearsInItsDescriptions() {
        let key = APIKey("persona_sandbox_secret", source: "test")
        #expect("\(key)" == "<redacted>")
        #expect(String(reflecting: key) == "<redacted>")
    }
}

/// A typo in the file must stop start-up (and a reload) naming the key, never leave a default in force.
@Suite struct UnknownConfigurationKeyTests {
    func refusal(_ yaml: String) async -> ConfigurationError? {
        let directory = TemporaryDirectory()
        let file = directory.path + "/config.yaml"
        try? yaml.write(toFile: file, atomically: true, encoding: .utf8)
        do {
            _ = try await ConfigurationSources.reader(configFile: file, overrides: [], environment: [:])
            return nil
        } catch {
            return error
        }
    }

    @Test func aMisspelledKeyIsNamedWithTheClosestKnownOne() async throws {
        let error = try #require(await refusal("cache: {ttl_secnds: 5}\n"))
        #expect(error.key == "cache.ttl_secnds")
        #expect(error.message.contains("did you mean cache.ttl_seconds?"))
    }

    @Test func aMisspelledSectionIsNamedToo() async throws {
        let error = try #require(await refusal("serverr:\n  port: 9000\n"))
        #expect(error.key == "serverr.port")
        #expect(error.message.contains("did you mean server.port?"))
        let bare = try #require(await refusal("serverr:\n"))
        #expect(bare.key == "serverr" && bare.message.contains("did you mean server?"))
    }

    /// The shipped files name only keys the proxy reads.
    @Test(arguments: ["config/persona-proxy.yaml", "config/demo.yaml"])
    func theShippedFilesPass(path: String) async throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
        try ConfigurationFileKeys.check(yaml: text, file: path, known: ProxyConfiguration.keys)
    }
}
