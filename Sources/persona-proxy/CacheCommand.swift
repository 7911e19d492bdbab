import ArgumentParser
import Foundation
import PersonaProxy

/// `persona-proxy cache stats | get ID | purge ID | purge --all`, through the running daemon's
/// admin API (so its memory tier and coalescing state are purged too); with the daemon stopped,
/// straight on the database file.
struct CacheCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cache", abstract: "Inspect or purge the cache.", subcommands: [Stats.self, Get.self, Purge.self])

    struct Target: ParsableArguments {
        @Option(help: "The daemon's base URL (default: http://server.host:server.port from the configuration).") var url: String?
        @OptionGroup var options: ConfigOptions

        func resolve() async throws -> (url: String, databasePath: String) {
            do {
                let configuration = try await options.load(requireKey: false).0
                let host = configuration.serverHost == "0.0.0.0" ? "127.0.0.1" : configuration.serverHost
                return (url ?? "http://\(host):\(configuration.serverPort)", configuration.cachePath)
            } catch let error as ConfigurationError {
                throw exitForConfigurationError(error)
            }
        }
    }

    /// Sends an admin request; when the daemon is down, `offline` answers from the database.
    static func run(_ method: String, _ path: String, target: Target, offline: (SQLiteCacheStore) async throws -> String) async throws {
        let (url, databasePath) = try await target.resolve()
        do {
            let (status, body) = try await AdminClient.send(method: method, url: url + path)
            printNow(body)
            if status >= 400 { throw ExitCode(1) }
        } catch AdminClient.Failure.unreachable {
            guard FileManager.default.fileExists(atPath: databasePath) else {
                FileHandle.standardError.write(Data("persona-proxy: no daemon at \(url) and no database at \(databasePath)\n".utf8))
                throw ExitCode(69)
            }
            let database = CacheSchema.database(path: databasePath)
            try database.open()
            defer { database.close() }
            printNow(try await offline(SQLiteCacheStore(database: database)))
        }
    }

    struct Stats: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Entries, fresh entries, 404s, bytes, and when the least and most recently verified entries were last verified.")
        @OptionGroup var target: Target

        func run() async throws {
            try await CacheCommand.run("GET", "/admin/cache", target: target) { store in
                try await store.statistics(now: Date()).json
            }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every variant held for one connection.")
        @Argument(help: "The connection id.") var id: String
        @OptionGroup var target: Target

        func run() async throws {
            try await CacheCommand.run("GET", "/admin/cache/\(id)", target: target) { store in
                let entries = try await store.entries(connectionId: id)
                return entries.map { "\($0.key.variant) status=\($0.status) persona_request_id=\($0.personaRequestId ?? "-") expires_at=\($0.expiresAt)" }
                    .joined(separator: "\n")
            }
        }
    }

    struct Purge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Purge one connection, or everything with --all.")
        @Argument(help: "The connection id.") var id: String?
        @Flag(help: "Purge every entry.") var all = false
        @OptionGroup var target: Target

        func validate() throws {
            guard (id != nil) != all else { throw ValidationError("give a connection id or --all, not both") }
        }

        func run() async throws {
            let path = all ? "/admin/cache?confirm=true" : "/admin/cache/\(id!)"
            try await CacheCommand.run("DELETE", path, target: target) { store in
                let purged = all ? try await store.removeEverything() : try await store.removeAll(connectionId: id!)
                return "{\"data\":{\"purged\":\(purged)}}"
            }
        }
    }
}
