/// The `Persona-Version` values the spec lists (`components/schemas/api-version`).
enum PersonaVersion {
    static let supported: Set<String> = [
        "2025-12-08", "2025-10-27", "2023-01-05", "2022-09-01",
        "2021-08-18", "2021-07-05", "2021-02-21", "2020-05-18",
    ]

    /// No header means the key's configured version, which is always valid. A repeated header
    /// arrives comma-joined (the spec's API-log example shows `2023-01-05, 2023-01-05`), so each
    /// part is checked.
    static func validate(_ headerValue: String?) throws {
        guard let headerValue else { return }
        for part in headerValue.split(separator: ",", omittingEmptySubsequences: false) {
            let version = part.trimmingSpaces
            guard supported.contains(version) else {
                throw PersonaError.badRequest("Persona-Version \(version) is not a valid API version")
            }
        }
    }
}

extension Substring {
    var trimmingSpaces: String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}
