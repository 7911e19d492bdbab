import AsyncHTTPClient
import Foundation
import NIOCore
import Synchronization

/// The watchdog's question "can this process serve at all?": its own listener, at the address it
/// actually bound, answers `/healthz` within a second. Deliberately not the database: a full disk
/// or a locked file degrades the proxy (hits are still served, `/readyz` says why) and must not
/// turn into a restart loop that drops the memory tier every `WatchdogSec`.
enum SelfCheck {
    static func passes(url: String?) async -> Bool {
        guard let url else { return false }
        var request = HTTPClientRequest(url: url)
        request.method = .GET
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(1))
            return response.status == .ok
        } catch {
            return false
        }
    }

    /// `/healthz` at the bound address: a wildcard bind is reached over the loopback of its family.
    static func healthURL(for address: SocketAddress?) -> String? {
        guard let address, let port = address.port, let ip = address.ipAddress else { return nil }
        let host: String
        switch address.protocol {
        case .inet: host = ip == "0.0.0.0" ? "127.0.0.1" : ip
        case .inet6: host = ip == "::" ? "[::1]" : "[\(ip)]"
        default: return nil
        }
        return "http://\(host):\(port)/healthz"
    }
}

/// Where the listener ended up, once it is bound.
final class BoundListener: Sendable {
    private let healthURL = Mutex<String?>(nil)

    var url: String? { healthURL.withLock { $0 } }

    func bound(to address: SocketAddress?) {
        healthURL.withLock { $0 = SelfCheck.healthURL(for: address) }
    }
}
