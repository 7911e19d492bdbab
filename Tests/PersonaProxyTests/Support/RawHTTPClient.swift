import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Sends exact request bytes over one loopback TCP connection and reads back whole responses
/// (framed by Content-Length): for tests that must control every byte on the wire, which a
/// test client that adds headers of its own cannot.
enum RawHTTPClient {
    struct Response: Equatable {
        var statusLine: String
        var headers: [(name: String, value: String)]
        var body: [UInt8]

        static func == (lhs: Response, rhs: Response) -> Bool {
            lhs.statusLine == rhs.statusLine && lhs.body == rhs.body && lhs.headers.map(\.name) == rhs.headers.map(\.name)
                && lhs.headers.map(\.value) == rhs.headers.map(\.value)
        }

        func header(_ name: String) -> String? { headers.first { $0.name.lowercased() == name.lowercased() }?.value }
    }

    enum Failure: Error { case connect(Int32), timeout(String) }

    /// Sends `requests` (already encoded, back to back: pipelined) and returns `count` responses.
    /// The blocking socket calls run on a thread of their own: on the cooperative pool (two threads
    /// here) they would starve the proxy under test, whose slow path runs there.
    static func exchange(port: Int, _ requests: [UInt8], responses count: Int) async throws -> [Response] {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result { try exchangeBlocking(port: port, requests, responses: count) })
            }
        }
    }

    private static func exchangeBlocking(port: Int, _ requests: [UInt8], responses count: Int) throws -> [Response] {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw Failure.connect(errno) }
        _ = requests.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        var received: [UInt8] = []
        var parsed: [Response] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while parsed.count < count {
            if let (response, used) = parse(received) {
                parsed.append(response)
                received.removeFirst(used)
                continue
            }
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { throw Failure.timeout("got \(parsed.count) of \(count) responses; \(received.count) bytes pending") }
            received += chunk[0..<n]
        }
        return parsed
    }

    private static func parse(_ bytes: [UInt8]) -> (Response, Int)? {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard let end = (0..<max(0, bytes.count - 3)).first(where: { Array(bytes[$0..<$0 + 4]) == separator }) else { return nil }
        let lines = String(decoding: bytes[0..<end], as: UTF8.self).components(separatedBy: "\r\n")
        let headers = lines.dropFirst().map { line -> (name: String, value: String) in
            let parts = line.split(separator: ":", maxSplits: 1)
            return (String(parts[0]), parts.count > 1 ? String(parts[1]).trimmingCharacters(in: .whitespaces) : "")
        }
        let length = Int(headers.first { $0.name.lowercased() == "content-length" }?.value ?? "0") ?? 0
        guard bytes.count >= end + 4 + length else { return nil }
        return (Response(statusLine: lines[0], headers: headers, body: Array(bytes[(end + 4)..<(end + 4 + length)])), end + 4 + length)
    }
}
