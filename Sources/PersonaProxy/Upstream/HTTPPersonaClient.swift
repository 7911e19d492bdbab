public import AsyncHTTPClient
public import Foundation
import NIOCore
import NIOHTTP1

/// The real `PersonaClient`: AsyncHTTPClient against `upstream.base_url`, adding the stored key.
public struct HTTPPersonaClient: PersonaClient {
    private let httpClient: HTTPClient
    private let baseURL: String
    private let apiKey: APIKey
    private let timeout: Duration
    /// Connections are small JSON objects; anything this large is not one.
    private let maxBodyBytes: Int

    public init(httpClient: HTTPClient, baseURL: URL, apiKey: APIKey, timeout: Duration, maxBodyBytes: Int = 8 << 20) {
        self.httpClient = httpClient
        var base = baseURL.absoluteString
        while base.hasSuffix("/") { base.removeLast() }
        self.baseURL = base
        self.apiKey = apiKey
        self.timeout = timeout
        self.maxBodyBytes = maxBodyBytes
    }

    public func send(_ request: UpstreamRequest) async throws(UpstreamError) -> UpstreamResponse {
        var outgoing = HTTPClientRequest(url: baseURL + request.path + (request.query.isEmpty ? "" : "?" + request.query))
        outgoing.method = HTTPMethod(rawValue: request.method)
        for header in request.headers where header.name.lowercased() != "authorization" {
            outgoing.headers.add(name: header.name, value: header.value)
        }
        outgoing.headers.replaceOrAdd(name: "Authorization", value: "Bearer \(apiKey.reveal())")
        outgoing.headers.replaceOrAdd(name: "Accept", value: "application/json")
        if let body = request.body {
            outgoing.body = .bytes(body)
            if outgoing.headers["Content-Type"].isEmpty {
                outgoing.headers.add(name: "Content-Type", value: "application/json")
            }
        }
        // One deadline for the whole exchange: connect, head and body. AsyncHTTPClient's own
        // deadline ends when the head arrives, so the body read is raced against the same clock.
        let deadline = NIODeadline.now() + TimeAmount(timeout)
        let (httpClient, maxBodyBytes, timeout, outgoingRequest) = (self.httpClient, self.maxBodyBytes, self.timeout, outgoing)
        let outcome = await withDeadline(timeout) {
            let response = try await httpClient.execute(outgoingRequest, deadline: deadline)
            let body = try await response.body.collect(upTo: maxBodyBytes)
            return UpstreamResponse(
                status: Int(response.status.code), headers: response.headers.map { (name: $0.name, value: $0.value) }, body: body)
        }
        switch outcome {
        case nil:
            throw .timedOut(seconds: timeout.seconds)
        case .success(let response):
            return response
        case .failure(let error as HTTPClientError):
            throw Self.map(error, timeout: timeout)
        case .failure(is NIOTooManyBytesError):
            throw .responseTooLarge(limit: maxBodyBytes)
        case .failure(let error):
            throw .unreachable(Self.describe(error))
        }
    }

    /// The HTTP client for Persona. Redirects are not followed (a redirect would carry the key
    /// elsewhere), and a refused connection fails at once: AsyncHTTPClient would otherwise retry
    /// it until the deadline, and the proxy's own retry policy (with backoff, within the
    /// caller's budget) is the one place that decides about retries.
    public static func makeHTTPClient() -> HTTPClient {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow)
        configuration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }

    static func map(_ error: HTTPClientError, timeout: Duration) -> UpstreamError {
        switch error {
        case .deadlineExceeded, .readTimeout, .writeTimeout, .connectTimeout, .getConnectionFromPoolTimeout:
            return .timedOut(seconds: timeout.seconds)
        default:
            return .unreachable(describe(error))
        }
    }

    /// Error text safe to show a caller: AsyncHTTPClient errors never include headers, but keep
    /// the message short and single-line anyway.
    static func describe(_ error: any Error) -> String {
        String(String(describing: error).prefix(200)).replacingOccurrences(of: "\n", with: " ")
    }
}

