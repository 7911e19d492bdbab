import AsyncHTTPClient
import Foundation
import Logging
import PersonaProxy
import ServiceLifecycle
import Synchronization
import Testing

@Suite(.serialized) struct SystemdLifecycleTests {
    @Test func readyAfterTheListenerAnswersThenWatchdogPingsThenStopping() async throws {
        let directory = TemporaryDirectory()
        let socket = try NotifySocket(directory: directory.path)
        let proxy = TestProxy(client: ScriptedPersonaClient.connections())
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        // WatchdogSec=0.2 s: pings every 100 ms while the self-check passes.
        let lifecycle = proxy.proxy.systemdLifecycle(environment: ["NOTIFY_SOCKET": socket.path, "WATCHDOG_USEC": "200000"], logger: logger)
        let group = ServiceGroup(configuration: .init(services: [proxy.proxy.application, lifecycle], logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let first = await socket.collect(until: { $0.hasPrefix("READY=1") })
            let ready = try #require(first.last)
            #expect(ready.hasPrefix("READY=1\nSTATUS=entries 0"))
            // READY means the port answers now.
            let port = proxy.boundPort.value
            let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)/readyz"), timeout: .seconds(2))
            #expect(response.status == .ok)
            let pings = await socket.collect(until: { _ in false }, seconds: 1.5).filter { $0 == "WATCHDOG=1" }
            #expect(pings.count >= 2)
            await group.triggerGracefulShutdown()
            let stopping = await socket.collect(until: { $0 == "STOPPING=1" })
            #expect(stopping.last == "STOPPING=1")
            try await tasks.waitForAll()
        }
    }

    @Test func aWedgedProcessStopsPinging() async throws {
        let directory = TemporaryDirectory()
        let socket = try NotifySocket(directory: directory.path)
        let (running, continuation) = AsyncStream.makeStream(of: Int.self)
        continuation.yield(1)
        let healthy = Mutex(true)
        let lifecycle = SystemdLifecycleService(
            notifier: SystemdNotifier(environment: ["NOTIFY_SOCKET": socket.path]), readiness: Readiness(), serverRunning: running,
            environment: ["WATCHDOG_USEC": "100000"], check: { _ in healthy.withLock { $0 } }, status: { "ok" }, logger: Self.quiet)
        let group = ServiceGroup(configuration: .init(services: [lifecycle], logger: Self.quiet))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            _ = await socket.collect(until: { $0.hasPrefix("READY=1") })
            #expect(await socket.collect(until: { $0 == "WATCHDOG=1" }, seconds: 1).last == "WATCHDOG=1")
            healthy.withLock { $0 = false }
            _ = await socket.collect(until: { _ in false }, seconds: 0.2)  // a ping already in flight
            let afterWedge = await socket.collect(until: { _ in false }, seconds: 0.5)
            #expect(!afterWedge.contains("WATCHDOG=1"))
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    static var quiet: Logger {
        var logger = Logger(label: "t")
        logger.logLevel = .critical
        return logger
    }

    @Test func watchdogIntervalIsHalfOfWatchdogUsecForThisProcessOnly() {
        #expect(SystemdLifecycleService.watchdogInterval(environment: ["WATCHDOG_USEC": "30000000"]) == .seconds(15))
        #expect(SystemdLifecycleService.watchdogInterval(environment: [:]) == nil)
        #expect(SystemdLifecycleService.watchdogInterval(environment: ["WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"]) == nil)
    }

    @Test func abstractSocketNamesAreAccepted() {
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": "@persona-proxy-test-\(UUID().uuidString.prefix(8))"])
        #expect(notifier.isActive)
        // Nobody listens there: the send fails quietly instead of throwing or crashing.
        #expect(notifier.send("READY=1") == false)
        #expect(SystemdNotifier(environment: [:]).send("READY=1") == false)
    }
}
