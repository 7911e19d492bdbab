import Foundation
import Hummingbird
import HummingbirdTesting
import PersonaSimulator

/// One in-process simulator with a manual clock, driven through `app.test(.router)`.
struct SimulatorHarness: Sendable {
    let state: SimulatorState
    let clock: ManualClock
    let configuration: SimulatorConfiguration

    init(_ configure: (inout SimulatorConfiguration) -> Void = { _ in }) {
        var configuration = SimulatorConfiguration()
        configure(&configuration)
        let clock = ManualClock()
        self.clock = clock
        self.configuration = configuration
        self.state = SimulatorState(configuration: configuration, now: { clock.now })
    }

    var apiKey: String { configuration.apiKey }

    func run<Value: Sendable>(_ test: @Sendable (any TestClientProtocol) async throws -> Value) async throws -> Value {
        let app = Application(router: PersonaSimulator.makeRouter(state: state))
        return try await app.test(.router, test)
    }

    /// Headers for an authenticated call plus any extras, e.g. `("Key-Inflection", "camel")`.
    func headers(_ extra: (String, String)...) -> HTTPFields {
        var fields = HTTPFields()
        fields[.authorization] = "Bearer \(apiKey)"
        for (name, value) in extra { fields[.init(name)!] = value }
        return fields
    }
}

/// Headers from name/value pairs, without authentication.
func plainHeaders(_ pairs: (String, String)...) -> HTTPFields {
    var fields = HTTPFields()
    for (name, value) in pairs { fields[.init(name)!] = value }
    return fields
}

extension TestResponse {
    func header(_ name: String) -> String? {
        headers.first { $0.name.canonicalName == name.lowercased() }?.value
    }

    func hasHeader(_ name: String) -> Bool { header(name) != nil }

    var bodyBytes: [UInt8] { Array(body.readableBytesView) }

    var bodyString: String { String(decoding: bodyBytes, as: UTF8.self) }

    /// The body parsed as a JSON object (fails the test if it is not one).
    func jsonObject() throws -> [String: Any] {
        let value = try JSONSerialization.jsonObject(with: Data(bodyBytes))
        guard let object = value as? [String: Any] else { throw HarnessError.notAnObject(bodyString) }
        return object
    }

    /// `errors[0].title` of an error document.
    func errorTitle() throws -> String? {
        let errors = try jsonObject()["errors"] as? [[String: Any]]
        return errors?.first?["title"] as? String
    }

    /// `data.attributes` of a single-resource document.
    func attributes() throws -> [String: Any] {
        let data = try jsonObject()["data"] as? [String: Any]
        guard let attributes = data?["attributes"] as? [String: Any] else { throw HarnessError.notAnObject(bodyString) }
        return attributes
    }
}

enum HarnessError: Error {
    case notAnObject(String)
}

/// Body of a create request.
func createBody(destination: String = "org_Destination0000000000001") -> ByteBuffer {
    ByteBuffer(string: #"{"data":{"attributes":{"destination-organization-id":"\#(destination)"}}}"#)
}
