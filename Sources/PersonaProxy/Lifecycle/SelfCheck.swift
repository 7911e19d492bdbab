import AsyncHTTPClient
import Foundation
import NIOCore

/// The watchdog's question "is this process really working?": its own listener answers
/// `/healthz` over loopback within a second, and both databases take a committed write.
enum SelfCheck {
    static func passes(port: Int, health: HealthRoutes) async -> Bool {
        for database in health.databases {
            guard await database.writeProbe(at: Date().timeIntervalSince1970) == nil else { return false }
        }
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/healthz")
        request.method = .GET
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(1))
            return response.status == .ok
        } catch {
            return false
        }
    }
}
