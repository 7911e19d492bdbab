/// A request the read path refuses before doing anything: HTTP answers it with a 400 and `message`.
public struct InvalidRequest: Error, Sendable, Equatable {
    public var message: String

    public init(_ message: String) {
        self.message = message
    }
}

/// A caller's retrieve request, validated and normalised before anything else happens, so that
/// nothing malformed reaches the cache key or Persona.
public struct ConnectionRequest: Sendable, Equatable {
    public var connectionId: String
    public var personaVersion: String?
    public var keyInflection: String?
    /// Normalised sparse fieldsets: type → sorted, de-duplicated attribute names.
    public var fields: [(type: String, attributes: [String])]
    /// Set for a list request (`connectionId` is then `ConnectionListQuery.cacheConnectionId`).
    public var list: ConnectionListQuery? = nil

    public var isList: Bool { list != nil }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.connectionId == rhs.connectionId && lhs.personaVersion == rhs.personaVersion
            && lhs.keyInflection == rhs.keyInflection
            && lhs.fields.elementsEqual(rhs.fields) { $0.type == $1.type && $0.attributes == $1.attributes } && lhs.list == rhs.list
    }

    /// Validates the parts of a retrieve request. Errors say what is wrong, for the caller.
    ///
    /// - Parameters:
    ///   - query: decoded query items in order; only `fields[...]` is meaningful for a retrieve,
    ///     anything else is dropped (never forwarded, never part of the key).
    ///   - defaultPersonaVersion: `upstream.persona_version`, used when the caller sent none.
    ///   - allowedPersonaVersions: `upstream.allowed_persona_versions`; a caller's other version is
    ///     refused, so no caller can spread the cache (and the budget) over every dated version.
    public static func parse(
        connectionId: String,
        personaVersion: String?,
        keyInflection: String?,
        query: [(name: String, value: String)],
        defaultPersonaVersion: String?,
        allowedPersonaVersions: Set<String>? = nil
    ) throws(InvalidRequest) -> ConnectionRequest {
        guard Self.isValidConnectionId(connectionId) else {
            throw InvalidRequest(
                "Invalid connection id: it must be 1 to 128 characters of letters, digits, '_' or '-'.")
        }
        var version = defaultPersonaVersion
        if let personaVersion = personaVersion?.trimmed, !personaVersion.isEmpty {
            guard Self.isDateShaped(personaVersion) else {
                throw InvalidRequest("Invalid Persona-Version header: expected a date like 2025-12-08.")
            }
            if let allowed = allowedPersonaVersions, !allowed.contains(personaVersion) {
                throw InvalidRequest(
                    "Persona-Version \(personaVersion) is not served by this proxy (upstream.allowed_persona_versions: \(allowed.sorted().joined(separator: ", "))).")
            }
            version = personaVersion
        }
        var inflection: String?
        if let keyInflection = keyInflection?.trimmed.lowercased(), !keyInflection.isEmpty {
            guard ["camel", "kebab", "snake"].contains(keyInflection) else {
                throw InvalidRequest("Invalid Key-Inflection header: expected camel, kebab or snake.")
            }
            inflection = keyInflection
        }
        var fieldsets: [String: Set<String>] = [:]
        for item in query where item.name.hasPrefix("fields[") && item.name.hasSuffix("]") {
            let type = String(item.name.dropFirst("fields[".count).dropLast())
            guard !type.isEmpty, type.count <= 64, type.allSatisfy(Self.isFieldCharacter) else {
                throw InvalidRequest("Invalid fields parameter name: \(item.name.prefix(80))")
            }
            let attributes = item.value.split(separator: ",").map { String($0).trimmed }.filter { !$0.isEmpty }
            guard attributes.count <= 64, attributes.allSatisfy({ $0.count <= 64 && $0.allSatisfy(Self.isFieldCharacter) })
            else {
                throw InvalidRequest("Invalid fields[\(type)] value: attribute names are letters, digits, '-' or '_'.")
            }
            // Only a connection's own members: anything else would only make another cache variant.
            guard type == "connect/connection" else {
                throw InvalidRequest("Invalid fields[\(type)]: a connection retrieve takes fields[connect/connection] only.")
            }
            let canonical = attributes.map(Self.kebab)
            if let unknown = canonical.first(where: { !Self.connectionMembers.contains($0) }) {
                throw InvalidRequest(
                    "Invalid fields[connect/connection] value \(unknown): a connection has \(Self.connectionMembers.sorted().joined(separator: ", ")).")
            }
            fieldsets[type, default: []].formUnion(canonical)
        }
        let fields = fieldsets.keys.sorted().map { (type: $0, attributes: fieldsets[$0]!.sorted()) }
        return ConnectionRequest(connectionId: connectionId, personaVersion: version, keyInflection: inflection, fields: fields)
    }

    /// A list request: the same headers and `fields[...]` rules as a retrieve, plus the list's own
    /// parameters (`ConnectionListQuery`).
    public static func parseList(
        personaVersion: String?, keyInflection: String?, query: [(name: String, value: String)], defaultPersonaVersion: String?,
        allowedPersonaVersions: Set<String>? = nil
    ) throws(InvalidRequest) -> ConnectionRequest {
        let list = try ConnectionListQuery.parse(query)
        var request = try parse(
            connectionId: "list", personaVersion: personaVersion, keyInflection: keyInflection, query: query,
            defaultPersonaVersion: defaultPersonaVersion, allowedPersonaVersions: allowedPersonaVersions)
        request.connectionId = ConnectionListQuery.cacheConnectionId
        request.list = list
        return request
    }

    /// - Parameter upstream: `UpstreamIdentity.fingerprint` of the upstream that will answer.
    public func cacheKey(upstream: String) -> CacheKey {
        let fieldsets = fields.map { "fields[\($0.type)]=\($0.attributes.joined(separator: ","))" }.joined(separator: "&")
        return CacheKey(
            connectionId: connectionId,
            personaVersion: personaVersion ?? "",
            keyInflection: keyInflection ?? "",
            // A list page is one variant per full query: "list?" keeps it apart from any fieldset.
            fields: list.map { "list?" + [$0.encodedQuery, fieldsets].filter { !$0.isEmpty }.joined(separator: "&") } ?? fieldsets,
            upstream: upstream)
    }

    /// The query string sent upstream, percent-encoding the brackets as Persona's own links do.
    public var upstreamQuery: String {
        let fieldsets = fields.map { "fields%5B\($0.type)%5D=\($0.attributes.joined(separator: ","))" }.joined(separator: "&")
        return [list?.encodedQuery ?? "", fieldsets].filter { !$0.isEmpty }.joined(separator: "&")
    }

    /// Path below the base URL.
    public var upstreamPath: String {
        isList ? ConnectionListQuery.path : "/api/v1/connect/connections/\(connectionId)"
    }

    /// The governed call that fetches this variant, naming the caller in the `User-Agent`.
    public func upstreamRequest(caller: CallerIdentity) -> UpstreamRequest {
        var headers: [(name: String, value: String)] = [(name: "User-Agent", value: caller.userAgent)]
        if let personaVersion { headers.append((name: "Persona-Version", value: personaVersion)) }
        if let keyInflection { headers.append((name: "Key-Inflection", value: keyInflection)) }
        return UpstreamRequest(method: "GET", path: upstreamPath, query: upstreamQuery, headers: headers, share: caller.share)
    }

    /// A connection's attributes and relationship, as Persona names them in `fields[...]`.
    static let connectionMembers: Set<String> = [
        "status", "source-organization-id", "destination-organization-id", "created-at", "updated-at", "creator",
    ]

    /// `createdAt` and `created_at` → `created-at`: one cache variant per set of members, whatever the spelling.
    static func kebab(_ name: String) -> String {
        var out = ""
        for character in name {
            if character == "_" {
                out.append("-")
            } else if character.isUppercase {
                out.append("-")
                out.append(contentsOf: character.lowercased())
            } else {
                out.append(character)
            }
        }
        return out
    }

    public static func isValidConnectionId(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= 128
            && id.utf8.allSatisfy { byte in
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                    || byte == 0x5F || byte == 0x2D
            }
    }

    private static func isDateShaped(_ value: String) -> Bool {
        let bytes = Array(value.utf8)
        guard bytes.count == 10, bytes[4] == 0x2D, bytes[7] == 0x2D else { return false }
        return bytes.enumerated().allSatisfy { index, byte in index == 4 || index == 7 || (byte >= 0x30 && byte <= 0x39) }
    }

    private static func isFieldCharacter(_ character: Character) -> Bool {
        character.isASCII && (character.isLetter || character.isNumber || "-_/".contains(character))
    }
}
