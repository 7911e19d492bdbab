import Foundation
import NIOCore

/// Why an answer from Persona was not what its status claimed. Such an answer is never stored:
/// it counts as an upstream failure (a stale copy if one is held, else a 502 saying this).
public struct InvalidAnswer: Sendable, Equatable {
    public enum Reason: String, Sendable {
        /// A 200 whose body is not a JSON object.
        case notJSON = "not_json"
        /// A 200 whose `data` is not a `connect/connection`.
        case notAConnection = "not_a_connection"
        /// A 200 for another connection than the one asked for.
        case wrongId = "wrong_id"
        /// A list's 200 whose `data` is not an array of `connect/connection`s.
        case notAList = "not_a_list"
        /// A 404 that is not Persona's error document (a proxy's or load balancer's page).
        case notAnErrorDocument = "not_an_error_document"
    }

    public var status: Int
    public var reason: Reason
    /// One sentence for the caller's `details`.
    public var explanation: String
}

/// Pure checks on Persona's answers before anything is stored or passed on.
public enum AnswerCheck {
    /// A retrieve's answer: nil when it is what its status claims (a 200 that is this
    /// connection, a 404 that is Persona's error), or any other status (not stored anyway).
    public static func retrieve(_ response: UpstreamResponse, connectionId: String) -> InvalidAnswer? {
        switch response.status {
        case 200:
            // Decodes only data.type and data.id (JSONDecoder skips the rest without building
            // objects for it): this runs on every miss.
            let document: ResourceDocument
            do {
                document = try JSONDecoder().decode(ResourceDocument.self, from: Data(response.body.readableBytesView))
            } catch DecodingError.dataCorrupted {
                return InvalidAnswer(
                    status: 200, reason: .notJSON,
                    explanation: "Persona answered 200 with a body that is not a JSON document (\(describe(response))).")
            } catch {
                return InvalidAnswer(
                    status: 200, reason: .notAConnection, explanation: "Persona answered 200 with a document that is not a connect/connection.")
            }
            // `type` and `id` are never inflected, whatever Key-Inflection asked for.
            guard document.data.type == "connect/connection" else {
                return InvalidAnswer(
                    status: 200, reason: .notAConnection, explanation: "Persona answered 200 with a document that is not a connect/connection.")
            }
            guard document.data.id == connectionId else {
                return InvalidAnswer(
                    status: 200, reason: .wrongId, explanation: "Persona answered 200 with a different connection than \(connectionId).")
            }
            return nil
        case 404:
            guard PersonaErrorDocument.isPersonaError(response.body.readableBytesView) else {
                return InvalidAnswer(
                    status: 404, reason: .notAnErrorDocument,
                    explanation: "Persona answered 404 with a body that is not Persona's error document (\(describe(response))).")
            }
            return nil
        default:
            return nil
        }
    }

    /// An error answer whose body is not Persona's error shape (an HTML page from a load balancer
    /// in front of Persona) is replaced by one, with the same status and Persona's headers: callers
    /// parse every error the same way. Persona's own errors, and successes, pass unchanged.
    public static func personaShaped(_ response: UpstreamResponse) -> UpstreamResponse {
        guard response.status >= 400, !PersonaErrorDocument.isPersonaError(response.body.readableBytesView) else { return response }
        var shaped = response
        shaped.headers = response.headers.filter { $0.name.lowercased() != "content-type" && $0.name.lowercased() != "content-length" }
        shaped.headers.append((name: "Content-Type", value: "application/json; charset=utf-8"))
        let title = reasonPhrases[response.status] ?? "Upstream error"
        shaped.body = ByteBuffer(
            string: PersonaErrorDocument.json(
                title: title, details: "Persona answered \(response.status) with a body that is not Persona's error document (\(describe(response)))."))
        return shaped
    }

    static let reasonPhrases = [
        400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found", 409: "Conflict", 422: "Unprocessable entity",
        429: "Rate limit exceeded", 500: "Internal server error", 502: "Bad gateway", 503: "Service unavailable", 504: "Gateway timeout",
    ]

    /// The two members of a JSON:API resource document the check needs.
    /// A list's answer: a 200 must be a JSON document whose `data` is an array of connections.
    public static func list(_ response: UpstreamResponse) -> InvalidAnswer? {
        guard response.status == 200 else { return nil }
        do {
            let document = try JSONDecoder().decode(ListDocument.self, from: Data(response.body.readableBytesView))
            guard document.data.allSatisfy({ $0.type == "connect/connection" }) else { throw InvalidAnswerError() }
            return nil
        } catch DecodingError.dataCorrupted {
            return InvalidAnswer(
                status: 200, reason: .notJSON, explanation: "Persona answered 200 with a body that is not a JSON document (\(describe(response))).")
        } catch {
            return InvalidAnswer(status: 200, reason: .notAList, explanation: "Persona answered 200 with a document that is not a list of connections.")
        }
    }

    private struct InvalidAnswerError: Error {}

    private struct ListDocument: Decodable {
        let data: [ResourceDocument.Resource]
    }

    private struct ResourceDocument: Decodable {
        struct Resource: Decodable {
            let type: String
            let id: String
        }
        let data: Resource
    }

    private static func describe(_ response: UpstreamResponse) -> String {
        let type = response.header("Content-Type").map { String($0.prefix(60)) } ?? "no content type"
        return "\(type), \(response.body.readableBytes) bytes"
    }
}
