import ArgumentParser
import Foundation
import PersonaProxy

/// Reads the request log straight from the database file, so it works with the daemon stopped.
struct RequestsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "requests",
        abstract: "Search the request log (newest first); reads the database directly, daemon running or not.")

    @Option(help: "The database file (default: request_log.path from the configuration).") var db: String?
    @Option(help: "The proxy's request id (the X-Request-Id it returned).") var requestId: String?
    @Option(help: "The X-Request-Id the caller sent.") var callerRequestId: String?
    @Option(help: "A Persona Request-Id (from Persona's API logs).") var personaRequestId: String?
    @Option(help: "A connection id.") var connectionId: String?
    @Option(help: "The caller (the authenticated client, or X-Client-Name, or the peer address).") var caller: String?
    @Option(help: "The status returned to the caller.") var status: Int?
    @Option(help: "Received at or after (ISO 8601 or Unix seconds).") var since: String?
    @Option(help: "Received before (ISO 8601 or Unix seconds).") var until: String?
    @Option(help: "At most this many records (1–1000).") var limit = 50
    @Flag(help: "JSON lines instead of a table.") var json = false
    @OptionGroup var options: ConfigOptions

    func run() async throws {
        let path: String
        var legacyCachePath: String?
        if let db {
            path = db
        } else {
            do {
                let configuration = try await options.load(requireKey: false).0
                path = configuration.requestLogPath
                // Not started since the upgrade: the rows are still in the cache file; opening moves them.
                legacyCachePath = configuration.cachePath
            } catch let error as ConfigurationError {
                throw exitForConfigurationError(error)
            }
        }
        guard FileManager.default.fileExists(atPath: path) || legacyCachePath.map(FileManager.default.fileExists(atPath:)) == true else {
            FileHandle.standardError.write(Data("persona-proxy: no database at \(path) (request_log.path, or --db)\n".utf8))
            throw ExitCode(66)
        }
        let query = RequestLogQuery(
            requestId: requestId, personaRequestId: personaRequestId, connectionId: connectionId, caller: caller, status: status,
            since: try Self.date(since, option: "--since"), until: try Self.date(until, option: "--until"), limit: limit,
            callerRequestId: callerRequestId)
        let database = RequestLogSchema.database(path: path, legacyCachePath: legacyCachePath)
        try database.open()
        defer { database.close() }
        let records = try await SQLiteRequestLogStore(database: database).query(query)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            for record in records {
                printNow(String(decoding: try encoder.encode(RequestLogEntryJSON(record)), as: UTF8.self))
            }
        } else {
            printNow(RequestTable.render(records))
        }
    }

    static func date(_ text: String?, option: String) throws -> Date? {
        guard let text else { return nil }
        if let seconds = Double(text) { return Date(timeIntervalSince1970: seconds) }
        if let date = try? Date(text, strategy: .iso8601) { return date }
        throw ValidationError("\(option) must be an ISO 8601 time (2026-11-29T14:02:00Z) or Unix seconds")
    }
}

/// The readable table `requests` prints by default.
enum RequestTable {
    static func render(_ records: [RequestLogRecord]) -> String {
        let header = ["RECEIVED (UTC)", "REQUEST ID", "CALLER", "METHOD", "CONNECTION", "CACHE", "STATUS", "PERSONA REQUEST IDS", "MS"]
        let rows = records.map { record -> [String] in
            let persona = record.attempts.isEmpty
                ? (record.personaRequestId ?? "-")
                : record.attempts.map { "\($0.personaRequestId ?? "-")(\($0.status.map(String.init) ?? "err"))" }.joined(separator: " ")
            return [
                Date.ISO8601FormatStyle().format(record.receivedAt), record.requestId, record.caller, record.method,
                record.connectionId ?? "-", record.cacheOutcome, String(record.status), persona, String(format: "%.1f", record.durationMs),
            ]
        }
        guard !rows.isEmpty else { return "no matching requests" }
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        return ([header] + rows).map { row in
            row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ")
                .trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n")
    }
}
