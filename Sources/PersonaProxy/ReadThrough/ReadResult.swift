/// Why the read path went to Persona (RFC 9211's `fwd` parameter).
public enum ForwardReason: String, Sendable {
    /// Nothing was stored.
    case miss
    /// A stored entry was too old to use.
    case stale
    /// The caller's request (its directives) required going upstream.
    case request
}

/// How the read path answered, as a value the layers above interpret: HTTP turns it into a
/// status, `Cache-Status` and a metrics label; the request recorder decides from it whether the
/// row must be committed before the answer.
public enum CacheOutcome: Sendable, Equatable {
    /// A fresh stored entry.
    case hit
    /// A fresh stored entry served although the caller's directives asked for a newer one: its
    /// client had used up `max_forced_refreshes_per_minute`.
    case refreshLimited
    /// An expired entry served at once: `stale-while-revalidate` (a refresh runs) or the caller's `max-stale`.
    case stale(CachePolicy.StaleReason)
    /// Persona's answer, passed on; `stored` when it was also cached.
    case forwarded(stored: Bool)
    /// Persona failed and an expired entry within `stale-if-error` was served instead.
    case staleIfError(UpstreamFailure)
    /// Persona failed and nothing usable was stored.
    case failed(UpstreamError)
    /// Persona's answer was not what its status claimed (never stored), and nothing usable was stored.
    case invalidAnswer(InvalidAnswer)
    /// No budget within the caller's wait, and nothing usable was stored.
    case refused(RateLimitRefusal)
    /// `only-if-cached` and nothing usable was stored.
    case unsatisfiable
}

/// What went wrong upstream when a stale copy was served instead.
public enum UpstreamFailure: Sendable, Equatable {
    /// Persona answered with this status (5xx or 429).
    case status(Int)
    case error(UpstreamError)
    case invalid(InvalidAnswer)
    case rateLimited
}

/// Everything a retrieve produced.
public struct ReadResult: Sendable {
    public enum Source: Sendable {
        /// A stored entry, `age` whole seconds old.
        case entry(CachedEntry, age: Int)
        /// Persona's answer to this request's fetch (or the fetch it joined).
        case upstream(UpstreamResponse)
        /// Nothing to serve: the outcome is a refusal.
        case none
    }

    public var outcome: CacheOutcome
    public var source: Source
    /// Set when the read path went (or tried to go) to Persona.
    public var forward: ForwardReason?
    /// This caller joined a fetch another caller started.
    public var collapsed: Bool
    /// Whole seconds the entry served stays fresh; negative when it is stale by that much.
    public var ttl: Int?
    /// The calls made to Persona for this caller (empty for a collapsed waiter: the leader carries them).
    public var calls: [UpstreamCall]

    public init(
        outcome: CacheOutcome, source: Source, forward: ForwardReason? = nil, collapsed: Bool = false, ttl: Int? = nil, calls: [UpstreamCall] = []
    ) {
        self.outcome = outcome
        self.source = source
        self.forward = forward
        self.collapsed = collapsed
        self.ttl = ttl
        self.calls = calls
    }

    /// True when the answer came from the cache (or from another caller's fetch) and this request
    /// made no call of its own: its request-log row may be batched. Every other row records a
    /// call Persona saw, or a refusal, and is committed before the caller hears back.
    public var isAnsweredFromCache: Bool {
        guard calls.isEmpty else { return false }
        switch outcome {
        case .hit, .refreshLimited, .stale, .staleIfError: return true
        case .forwarded: return collapsed
        case .failed, .invalidAnswer, .refused, .unsatisfiable: return false
        }
    }

    /// The Persona `Request-Id` behind the bytes served, if Persona produced them.
    public var personaRequestId: String? {
        switch source {
        case .entry(let entry, _): entry.personaRequestId
        case .upstream(let response): response.personaRequestId
        case .none: nil
        }
    }
}
