/// What each request reads of the configuration — who may call, the cache policy, the Persona
/// versions — made once per (re)load, so that neither the hit fast path nor the router copies the
/// whole live configuration out on every request. Both read the same snapshot, so a reload
/// reaches them together.
public final class RequestSettings: Sendable {
    public let access: AccessControl
    public let policy: CachePolicy
    public let defaultPersonaVersion: String?
    public let allowedPersonaVersions: Set<String>

    public init(access: AccessControl, policy: CachePolicy, defaultPersonaVersion: String?, allowedPersonaVersions: Set<String>) {
        self.access = access
        self.policy = policy
        self.defaultPersonaVersion = defaultPersonaVersion
        self.allowedPersonaVersions = allowedPersonaVersions
    }
}
