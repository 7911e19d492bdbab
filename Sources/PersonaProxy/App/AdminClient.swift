import AsyncHTTPClient
import Foundation
import NIOCore

/// The CLI's way to a running daemon's admin API (so a purge also clears its memory tier and
/// coalescing state).
public enum AdminClient {
    public enum Failure: Error {
        /// Nothing answers there: the daemon is not running.
        case unreachable
    }

    /// - Returns: status and body text.
    public static func send(method: String, url: String) async throws -> (status: Int, body: String) {
        var request = HTTPClientRequest(url: url)
        request.method = .init(rawValue: method)
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
            let body = try await response.body.collect(upTo: 16 << 20)
            return (Int(response.status.code), String(buffer: body))
        } catch is HTTPClientError {
            throw Failure.unreachable
        } catch where "\(error)".contains("refused") {
            // NIO's connection errors (ECONNREFUSED) are not HTTPClientErrors.
            throw Failure.unreachable
        }
    }
}
