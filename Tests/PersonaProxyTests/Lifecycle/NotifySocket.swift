import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A datagram socket the test owns, standing in for systemd's notify socket.
final class NotifySocket: @unchecked Sendable {
    let path: String
    private let descriptor: Int32

    init(directory: String) throws {
        path = directory + "/notify.sock"
        descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard result == 0 else { throw POSIXError(.EADDRINUSE) }
        // Reads give up after 100 ms so a test can poll with a deadline instead of blocking forever.
        var timeout = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(descriptor) }

    /// The next message, or nil if none arrived within 100 ms.
    func receive() -> String? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = recv(descriptor, &buffer, buffer.count, 0)
        guard count > 0 else { return nil }
        return String(decoding: buffer[0..<count], as: UTF8.self)
    }

    /// Messages until one satisfies `stop` or `seconds` pass (bounded, never a hang).
    func collect(until stop: (String) -> Bool, seconds: Double = 5) async -> [String] {
        var messages: [String] = []
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            let message = await Task.detached { self.receive() }.value
            if let message {
                messages.append(message)
                if stop(message) { break }
            }
        }
        return messages
    }
}
