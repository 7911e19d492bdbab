import Synchronization

/// What `/readyz` reports besides the database: whether the listener is up, whether the proxy
/// is draining, and whether Persona rejected the stored key on the latest calls.
public final class Readiness: Sendable {
    public enum Phase: String, Sendable {
        case starting, serving, draining
    }

    private struct State {
        var phase = Phase.starting
        var keyRejectedStatus: Int?
    }

    private let state = Mutex(State())

    public init() {}

    public var phase: Phase {
        get { state.withLock { $0.phase } }
        set { state.withLock { $0.phase = newValue } }
    }

    /// Every upstream answer passes through here: 401/403 mark the key rejected until an
    /// answer shows it works again (any status other than 401/403).
    public func observeUpstream(status: Int) {
        state.withLock { state in
            if status == 401 || status == 403 {
                state.keyRejectedStatus = status
            } else if status != 429, status < 500 {
                state.keyRejectedStatus = nil
            }
        }
    }

    /// Reasons not to send traffic here, empty when ready (the database is checked separately).
    public var reasons: [String] {
        state.withLock { state in
            var reasons: [String] = []
            switch state.phase {
            case .starting: reasons.append("starting: the listener is not bound yet")
            case .draining: reasons.append("draining: the proxy is shutting down")
            case .serving: break
            }
            if let status = state.keyRejectedStatus {
                reasons.append(
                    "Persona rejected the stored API key (HTTP \(status) on the latest call): "
                        + (status == 401 ? "the key is wrong or revoked" : "the key lacks a permission"))
            }
            return reasons
        }
    }
}
