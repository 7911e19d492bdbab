import PersonaProxy
import Testing

@Suite struct ConnectionRequestTests {
    func parse(
        _ id: String = "cxn_ABC123", version: String? = nil, inflection: String? = nil, query: [(name: String, value: String)] = [],
        defaultVersion: String? = nil
    ) throws(InvalidRequest) -> ConnectionRequest {
        try ConnectionRequest.parse(connectionId: id, personaVersion: version, keyInflection: inflection, query: query, defaultPersonaVersion: defaultVersion)
    }

    @Test(arguments: ["", "cxn ABC", "cxn_ABC%2F..", "../rate-limits", "cxn_ABC123?x", String(repeating: "a", count: 129), "cxn_é"])
    func invalidIdsAreRefusedWith400(id: String) {
        #expect(throws: InvalidRequest.self) { try parse(id) }
        do { _ = try parse(id) } catch { #expect(error.message.contains("connection id")) }
    }

    @Test func longestValidIdIsAccepted() throws {
        #expect(try parse(String(repeating: "a", count: 128)).connectionId.count == 128)
    }

    @Test func fieldsAreNormalisedSoEquivalentQueriesShareAKey() throws {
        let a = try parse(query: [(name: "fields[connect/connection]", value: "status, created-at,status")])
        let b = try parse(query: [(name: "fields[connect/connection]", value: "created-at"), (name: "fields[connect/connection]", value: "status")])
        #expect(a.cacheKey(upstream: "") == b.cacheKey(upstream: ""))
        #expect(a.cacheKey(upstream: "").fields == "fields[connect/connection]=created-at,status")
        #expect(a.upstreamQuery == "fields%5Bconnect/connection%5D=created-at,status")
    }

    @Test func unrelatedQueryParametersAreDroppedNotForwarded() throws {
        let request = try parse(query: [(name: "include", value: "everything"), (name: "page[size]", value: "100")])
        #expect(request.upstreamQuery == "")
        #expect(request.cacheKey(upstream: "") == (try parse()).cacheKey(upstream: ""))
    }

    @Test func variantsDiffer() throws {
        let plain = try parse().cacheKey(upstream: "")
        #expect(plain != (try parse(inflection: "camel")).cacheKey(upstream: ""))
        #expect(plain != (try parse(version: "2023-01-05")).cacheKey(upstream: ""))
        #expect(plain != (try parse(query: [(name: "fields[connect/connection]", value: "status")])).cacheKey(upstream: ""))
        #expect((try parse(inflection: "Camel")).cacheKey(upstream: "") == (try parse(inflection: "camel")).cacheKey(upstream: ""))
    }

    @Test func configuredVersionAppliesUnlessTheCallerSendsOne() throws {
        #expect(try parse(defaultVersion: "2025-12-08").personaVersion == "2025-12-08")
        #expect(try parse(version: "2023-01-05", defaultVersion: "2025-12-08").personaVersion == "2023-01-05")
        // Same effective version → same entry, whether pinned by config or sent by the caller.
        #expect(try parse(defaultVersion: "2025-12-08").cacheKey(upstream: "") == (try parse(version: "2025-12-08")).cacheKey(upstream: ""))
    }

    @Test func malformedHeadersAreRefusedBeforeAnyUpstreamCall() {
        #expect(throws: InvalidRequest.self) { try parse(version: "latest") }
        #expect(throws: InvalidRequest.self) { try parse(inflection: "pascal") }
        #expect(throws: InvalidRequest.self) { try parse(query: [(name: "fields[a b]", value: "x")]) }
        #expect(throws: InvalidRequest.self) { try parse(query: [(name: "fields[connect/connection]", value: "sta\"tus")]) }
    }
}

/// Cache variance is bounded: a caller cannot make a new variant (and a new miss, and a new call
/// against the shared budget) out of any date or any field name.
@Suite struct BoundedVariantTests {
    static func parse(version: String? = nil, fields: String? = nil, type: String = "connect/connection") throws(InvalidRequest) -> ConnectionRequest {
        try ConnectionRequest.parse(
            connectionId: "cxn_1", personaVersion: version, keyInflection: nil,
            query: fields.map { [(name: "fields[\(type)]", value: $0)] } ?? [], defaultPersonaVersion: "2025-12-08",
            allowedPersonaVersions: ["2025-12-08", "2023-01-05"])
    }

    @Test func onlyAllowedPersonaVersions() throws {
        #expect(try Self.parse(version: "2023-01-05").personaVersion == "2023-01-05")
        #expect(try Self.parse().personaVersion == "2025-12-08", "the pinned default")
        #expect(throws: InvalidRequest.self) { try Self.parse(version: "2024-02-29") }
    }

    @Test func onlyAConnectionsMembersInAnySpellingAsOneVariant() throws {
        let kebab = try Self.parse(fields: "status,created-at")
        let camel = try Self.parse(fields: "createdAt,status")
        let snake = try Self.parse(fields: "created_at,status")
        #expect(kebab.cacheKey(upstream: "") == camel.cacheKey(upstream: ""))
        #expect(kebab.cacheKey(upstream: "") == snake.cacheKey(upstream: ""))
        #expect(kebab.upstreamQuery == "fields%5Bconnect/connection%5D=created-at,status")
        #expect(throws: InvalidRequest.self) { try Self.parse(fields: "status,password") }
        #expect(throws: InvalidRequest.self) { try Self.parse(fields: "name", type: "inquiry") }
    }

    @Test func theDefaultAllowsThePinnedVersionOrEveryDocumentedOne() async throws {
        let pinned = try await ProxyConfiguration(
            reader: ConfigurationSources.reader(configFile: nil, overrides: ["--upstream-persona-version", "2023-01-05"], environment: [:]))
        #expect(pinned.allowedPersonaVersions == ["2023-01-05"])
        let unpinned = try await ProxyConfiguration(reader: ConfigurationSources.reader(configFile: nil, overrides: [], environment: [:]))
        #expect(unpinned.allowedPersonaVersions == ProxyConfiguration.documentedPersonaVersions)
        await #expect(throws: ConfigurationError.self) {
            _ = try await ProxyConfiguration(
                reader: ConfigurationSources.reader(configFile: nil, overrides: ["--upstream-allowed-persona-versions", "latest"], environment: [:]))
        }
    }
}

/// The list's parameters: refused before any call when Persona would refuse them, one key per page.
@Suite struct ConnectionListQueryTests {
    static func parse(_ query: [(String, String)], inflection: String? = nil) throws(InvalidRequest) -> ConnectionRequest {
        try ConnectionRequest.parseList(
            personaVersion: nil, keyInflection: inflection, query: query.map { (name: $0.0, value: $0.1) }, defaultPersonaVersion: "2025-12-08")
    }

    @Test(arguments: [
        [("page[size]", "0")], [("page[size]", "101")], [("page[size]", "ten")], [("filter[colour]", "red")],
        [("filter[status]", "act ive")], [("filter[destination-organization-id]", "org/../x")], [("page[after]", "")],
        [("page[size]", "10"), ("page[size]", "20")], [("page[number]", "2")], [("fields[connect/connection]", "colour")],
    ])
    func malformedParametersAreRefused(query: [(String, String)]) {
        #expect(throws: InvalidRequest.self) { try Self.parse(query) }
    }

    @Test func onePageHasOneKeyWhateverTheOrderOrSpelling() throws {
        let a = try Self.parse([("filter[status]", "active"), ("page[size]", "100"), ("page[after]", "cxn_9")])
        let b = try Self.parse([("page[after]", "cxn_9"), ("page[size]", "100"), ("filter[status]", "active"), ("utm", "x")])
        #expect(a.cacheKey(upstream: "u") == b.cacheKey(upstream: "u"))
        #expect(a.upstreamQuery == "page%5Bafter%5D=cxn_9&page%5Bsize%5D=100&filter%5Bstatus%5D=active")
        #expect(a.upstreamPath == "/api/v1/connect/connections")
        #expect(a.connectionId == ConnectionListQuery.cacheConnectionId)
        let camel = try Self.parse([("page[size]", "100")], inflection: "camel")
        #expect(camel.cacheKey(upstream: "u") != (try Self.parse([("page[size]", "100")])).cacheKey(upstream: "u"))
        // A page is never the same key as a connection's variant.
        #expect(try Self.parse([]).cacheKey(upstream: "u").fields == "list?")
    }
}
