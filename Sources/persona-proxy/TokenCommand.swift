import ArgumentParser
import Foundation
import PersonaProxy

/// `persona-proxy token new --name billing-service`: a fresh random token, printed once, and the
/// configuration lines (its SHA-256, never the token) to paste under `clients:`.
struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token", abstract: "Create a client token.", subcommands: [New.self])

    struct New: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a new client token and the configuration lines for it.")

        @Option(help: "The client's name, as the request log and metrics will show it.") var name: String
        @Option(help: "Comma-separated scopes: read (retrieve, list), write (create, deactivate, reactivate), admin (/admin/*).")
        var scopes = "read"
        @Option(help: "Share of the rate-limit budget when calls wait for it.") var weight = 1
        @Option(help: "Requests a minute that may force a call to Persona for a fresh cached connection (no-cache, max-age=0, min-fresh).")
        var maxForcedRefreshesPerMinute = ClientConfiguration.defaultMaxForcedRefreshesPerMinute

        func run() async throws {
            let scopeList = scopes.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            for scope in scopeList where ClientConfiguration.Scope(rawValue: scope) == nil {
                throw ValidationError("unknown scope \(scope); scopes are read, write, admin")
            }
            let (token, hash) = ClientConfiguration.newToken()
            let lines = """
                clients:
                  - name: \(name)
                    token_sha256: \(hash)
                    scopes: [\(scopeList.joined(separator: ", "))]
                    weight: \(weight)
                    max_forced_refreshes_per_minute: \(maxForcedRefreshesPerMinute)
                """
            // Validate what we print with the same parser the daemon uses.
            _ = try ClientConfiguration.parse(yaml: lines, file: "the printed lines")
            printNow("Token for \(name) (shown once; give it to the service, which sends it as Authorization: Bearer <token>):")
            printNow("  \(token)")
            printNow("")
            printNow("Add to the configuration file (the hash, never the token), then: systemctl reload persona-proxy")
            printNow(lines)
        }
    }
}
