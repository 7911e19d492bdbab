import Foundation
import Testing

/// The unit file in `systemd/` as systemd itself judges it.
@Suite struct SystemdUnitTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let unit = root.appendingPathComponent("systemd/persona-proxy.service").path
    static let analyze = "/usr/bin/systemd-analyze"

    static func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: analyze)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: analyze), "needs systemd-analyze (Debian package systemd)"))
    func exposureIsAtMostOnePointFive() throws {
        let (_, output) = try Self.run(["security", "--offline=yes", "--no-pager", Self.unit])
        let line = try #require(output.split(separator: "\n").first { $0.contains("Overall exposure level") })
        let score = try #require(line.split(separator: " ").compactMap { Double($0) }.first)
        #expect(score <= 1.5, "\(line)")
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: analyze), "needs systemd-analyze (Debian package systemd)"))
    func verifyIsClean() throws {
        // Verify a copy whose ExecStart names a binary that exists here; every other line is the shipped unit.
        let directory = TemporaryDirectory()
        let built = Self.root.appendingPathComponent(".build/debug/persona-proxy").path
        let binary = FileManager.default.isExecutableFile(atPath: built) ? built : "/bin/sh"
        let text = try String(contentsOfFile: Self.unit, encoding: .utf8).replacingOccurrences(of: "/usr/local/bin/persona-proxy", with: binary)
        let copy = directory.path + "/persona-proxy.service"
        try text.write(toFile: copy, atomically: true, encoding: .utf8)
        let (status, output) = try Self.run(["verify", copy])
        #expect(status == 0, "\(output)")
        #expect(output.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "\(output)")
    }

    @Test func unitUsesNotifyWatchdogReloadAndTheCredential() throws {
        let text = try String(contentsOfFile: Self.unit, encoding: .utf8)
        for line in [
            "Type=notify", "WatchdogSec=", "ExecReload=/bin/kill -HUP $MAINPID", "LoadCredential=persona-api-key:/etc/persona-proxy/api-key",
            "StateDirectory=persona-proxy", "Environment=CACHE_PATH=/var/lib/persona-proxy/cache.sqlite",
            "--config /etc/persona-proxy/persona-proxy.yaml", "ProtectSystem=strict",
        ] {
            #expect(text.contains(line), "missing \(line)")
        }
        // ProtectSystem=strict leaves only the state directory writable: the database must live there.
        #expect(!text.contains("ReadWritePaths="))
    }
}
