import NIOCore
import PersonaProxy
import Synchronization

/// The in-memory twin of `PersonaClient`: answers from a script and records what it was sent.
/// Used where a test is about the proxy's decisions; wire-level behaviour is tested against
/// the simulator over loopback.
final class ScriptedPersonaClient: PersonaClient {
    typealias Answer = @Sendable (UpstreamRequest) async throws(UpstreamError) -> UpstreamResponse

    private let answer: Answer
    private let sent = Mutex<[UpstreamRequest]>([])

    init(_ answer: @escaping Answer) {
        self.answer = answer
    }

    /// Answers every request 200 with a body naming the path and inflection, so variants differ.
    static func connections(requestIdPrefix: String = "req_scripted") -> ScriptedPersonaClient {
        let counter = Mutex(0)
        return ScriptedPersonaClient { request in
            let n = counter.withLock { $0 += 1; return $0 }
            let body = "{\"data\":{\"type\":\"connect/connection\",\"id\":\"\(request.path.split(separator: "/").last!)\",\"inflection\":\"\(request.header("Key-Inflection") ?? "")\",\"query\":\"\(request.query)\"}}"
            return UpstreamResponse(
                status: 200,
                headers: [
                    (name: "Content-Type", value: "application/json; charset=utf-8"), (name: "Request-Id", value: "\(requestIdPrefix)_\(n)"),
                    (name: "Persona-Environment-Id", value: "env_test"), (name: "Persona-Organization-Id", value: "org_test"),
                ],
                body: ByteBuffer(string: body))
        }
    }

    func send(_ request: UpstreamRequest) async throws(UpstreamError) -> UpstreamResponse {
        sent.withLock { $0.append(request) }
        return try await answer(request)
    }

    var requests: [UpstreamRequest] { sent.withLock { $0 } }
}
