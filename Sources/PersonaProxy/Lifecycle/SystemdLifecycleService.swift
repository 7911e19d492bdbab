import Foundation
public import Logging
public import ServiceLifecycle

/// Talks to systemd (`Type=notify`): `READY=1` once the listener is bound and the database is
/// migrated, a short `STATUS=` summary every few seconds, `WATCHDOG=1` at half of `WatchdogSec=`
/// only while `check` passes (a wedged process stops pinging and systemd restarts it), and
/// `STOPPING=1` as soon as shutdown begins. Also flips `/readyz` to draining then.
///
/// Runs outside the application's own service group, after it in the list, so that it hears of
/// the shutdown first.
public struct SystemdLifecycleService: Service {
    let notifier: SystemdNotifier
    let readiness: Readiness
    let serverRunning: AsyncStream<Int>
    /// The watchdog interval: half of `$WATCHDOG_USEC`, or nil when systemd set none.
    let watchdogInterval: Duration?
    let statusInterval: Duration
    let check: @Sendable (Int) async -> Bool
    let status: @Sendable () async -> String
    let logger: Logger

    public init(
        notifier: SystemdNotifier, readiness: Readiness, serverRunning: AsyncStream<Int>, environment: [String: String],
        statusInterval: Duration = .seconds(10), check: @escaping @Sendable (Int) async -> Bool, status: @escaping @Sendable () async -> String,
        logger: Logger
    ) {
        self.notifier = notifier
        self.readiness = readiness
        self.serverRunning = serverRunning
        self.watchdogInterval = Self.watchdogInterval(environment: environment)
        self.statusInterval = statusInterval
        self.check = check
        self.status = status
        self.logger = logger
    }

    /// Half of `WATCHDOG_USEC`, if it is set for this process (`WATCHDOG_PID` absent or ours).
    public static func watchdogInterval(environment: [String: String]) -> Duration? {
        guard let usec = environment["WATCHDOG_USEC"].flatMap(UInt64.init), usec > 0 else { return nil }
        if let pid = environment["WATCHDOG_PID"].flatMap(Int32.init), pid != ProcessInfo.processInfo.processIdentifier { return nil }
        return .microseconds(Int64(usec / 2))
    }

    public func run() async throws {
        await withGracefulShutdownHandler {
            var ports = serverRunning.makeAsyncIterator()
            guard let port = await ports.next() else { return }
            notifier.ready(status: await status())
            logger.info("ready", metadata: ["port": "\(port)"])
            let tick = min(watchdogInterval ?? statusInterval, statusInterval)
            var sinceStatus = Duration.zero
            while !Task.isShuttingDownGracefully, !Task.isCancelled {
                await Task.sleepUnlessShuttingDown(for: tick)
                guard !Task.isShuttingDownGracefully, !Task.isCancelled else { break }
                if watchdogInterval != nil {
                    if await check(port) {
                        notifier.watchdog()
                    } else {
                        logger.error("self-check failed; withholding the watchdog ping")
                    }
                }
                sinceStatus += tick
                if sinceStatus >= statusInterval {
                    notifier.status(await status())
                    sinceStatus = .zero
                }
            }
        } onGracefulShutdown: {
            readiness.phase = .draining
            notifier.stopping()
        }
    }
}
