import NIOCore
import PersonaProxy

/// What a caller would receive, read off a `ReadResult` without going through HTTP.
extension ReadResult {
    var body: ByteBuffer {
        switch source {
        case .entry(let entry, _): entry.body
        case .upstream(let response): response.body
        case .none: ByteBuffer()
        }
    }

    var age: Int? {
        if case .entry(_, let age) = source { return age }
        return nil
    }

    var cacheStatus: CacheStatus { CacheStatus(self) }
}
