import ArgumentParser
import PersonaProxy

@main
struct PersonaProxyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "persona-proxy",
        abstract: "A caching, rate-limit-aware proxy for Persona Connect connections.",
        version: PersonaProxyVersion.string,
        subcommands: [ServeCommand.self, CheckConfigCommand.self, RequestsCommand.self, CacheCommand.self, TokenCommand.self, SimulateCommand.self, DemoCommand.self],
        defaultSubcommand: nil)
}
