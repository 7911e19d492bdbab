import Foundation
public import Logging

/// One line per event on stderr, as `logfmt` (default) or JSON, with the level shared through
/// `LogLevelControl` so a reload changes it for every logger. Under journald (`JOURNAL_STREAM`
/// set) lines carry no timestamp: the journal adds its own.
public struct ProxyLogHandler: LogHandler {
    public enum Format: String, Sendable, CaseIterable {
        case logfmt, json
    }

    let label: String
    let format: Format
    let timestamps: Bool
    let control: LogLevelControl
    let write: @Sendable (String) -> Void
    public var metadata: Logger.Metadata = [:]

    public init(
        label: String, format: Format, timestamps: Bool, control: LogLevelControl,
        write: @escaping @Sendable (String) -> Void = ProxyLogHandler.writeToStandardError
    ) {
        self.label = label
        self.format = format
        self.timestamps = timestamps
        self.control = control
        self.write = write
    }

    /// Off the request path: a bounded queue drained by its own thread (`LogLineBuffer`).
    public static let writeToStandardError: @Sendable (String) -> Void = { LogLineBuffer.standardError.enqueue($0) }

    public var logLevel: Logger.Level {
        get { control.level }
        set { control.level = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields: [(String, String)] = []
        if timestamps { fields.append(("ts", Date.ISO8601FormatStyle(includingFractionalSeconds: true).format(Date()))) }
        fields.append(("level", event.level.rawValue))
        fields.append(("msg", "\(event.message)"))
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        for key in merged.keys.sorted() { fields.append((key, "\(merged[key]!)")) }
        fields.append(("logger", label))
        write(Self.render(fields, format: format) + "\n")
    }

    static func render(_ fields: [(String, String)], format: Format) -> String {
        switch format {
        case .json:
            return "{" + fields.map { "\(JSONString.quote($0.0)):\(JSONString.quote($0.1))" }.joined(separator: ",") + "}"
        case .logfmt:
            return fields.map { key, value in
                let needsQuotes = value.isEmpty || value.contains { $0 == " " || $0 == "=" || $0 == "\"" || $0.isNewline || $0 == "\\" }
                return "\(key)=" + (needsQuotes ? JSONString.quote(value) : value)
            }.joined(separator: " ")
        }
    }
}
