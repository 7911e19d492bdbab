import Foundation

/// Persona's error shape, `{"errors":[{"title":...,"details":...}]}`: written for the proxy's own
/// refusals, and recognised in upstream answers.
enum PersonaErrorDocument {
    static func json(title: String, details: String?) -> String {
        var object = "{\"title\":\(JSONString.quote(title))"
        if let details { object += ",\"details\":\(JSONString.quote(details))" }
        return "{\"errors\":[\(object)}]}"
    }

    /// True when `body` is a JSON object whose `errors` is a non-empty array of objects with a
    /// string `title`, as every Persona error is.
    static func isPersonaError(_ body: some Collection<UInt8>) -> Bool {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
            let errors = object["errors"] as? [Any], !errors.isEmpty
        else { return false }
        return errors.allSatisfy { ($0 as? [String: Any])?["title"] is String }
    }
}
