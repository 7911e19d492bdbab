/// Refusal to wait any longer for rate-limit budget: the caller's deadline comes first.
public struct RateLimitRefusal: Error, Sendable, Equatable {
    /// Whole seconds until budget is expected (for `Retry-After`), at least 1.
    public var retryAfterSeconds: Int
    public var limit: Int?
    /// Seconds until the window resets, if known (for `RateLimit-Reset`).
    public var resetSeconds: Int?

    public init(retryAfterSeconds: Int, limit: Int?, resetSeconds: Int?) {
        self.retryAfterSeconds = retryAfterSeconds
        self.limit = limit
        self.resetSeconds = resetSeconds
    }
}

/// The one place that knows Persona's budget for a key and spends it: every upstream call asks
/// it for a permit first and reports back how the call ended.
///
/// An actor: decisions are made by `RateLimitState` (pure); the governor only waits — until a
/// moment (`MonotonicClock`) or until an in-flight call completes — and re-decides on waking.
public actor RateLimitGovernor {
    public struct Permit: Sendable {
        /// Seconds spent waiting for budget.
        public let waited: Double
        let priority: UpstreamPriority
        /// The order it was issued in, so its answer is matched with what Persona had counted.
        let sequence: Int
    }

    private var state = RateLimitState()
    private var queue = FairQueue()
    private let clock: any MonotonicClock
    private let settings: @Sendable () -> RateLimitSettings
    private let random: @Sendable () -> Double
    private let onStateChange: @Sendable (RateLimitState) -> Void
    private var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
    private var waiterOfTicket: [Int: Int] = [:]
    private var nextWaiterId = 0

    /// - Parameters:
    ///   - random: uniform samples in [0, 1) for jitter; tests pass a constant.
    ///   - onStateChange: after every answer (metrics gauges).
    public init(
        clock: any MonotonicClock, settings: @escaping @Sendable () -> RateLimitSettings,
        random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) },
        onStateChange: @escaping @Sendable (RateLimitState) -> Void = { _ in }
    ) {
        self.clock = clock
        self.settings = settings
        self.random = random
        self.onStateChange = onStateChange
    }

    public var snapshot: RateLimitState { state }
    /// Calls waiting for budget, in the order they will get it.
    public var waiting: Int { queue.count }

    /// Waits until a call may go upstream, or refuses as soon as it is clear that would take
    /// past `deadline` (a `MonotonicClock` time). While calls wait, permits go in `FairQueue`
    /// order: by share, in proportion to weight, foreground first.
    public func permit(
        _ priority: UpstreamPriority, share: BudgetShare = .local, deadline: Double
    ) async throws(RateLimitRefusal) -> Permit {
        let arrived = clock.now()
        var ticket: Int?
        defer {
            if let ticket {
                queue.leave(ticket)
                state.foregroundWaiting = queue.foregroundCount
                // The head may have left: whoever is next must look again.
                wakeNext()
            }
        }
        while true {
            let now = clock.now()
            let settings = settings()
            let decision = state.decide(priority, now: now, settings: settings, jitterSample: random())
            // With others waiting, take a place in the queue first: it may well be the first one.
            if !queue.isEmpty { join(&ticket, share, priority) }
            let isNext = ticket.map { queue.head?.id == $0 } ?? true
            switch decision {
            case .proceed where isNext:
                if let ticket { queue.served(ticket) }
                ticket = nil
                state.foregroundWaiting = queue.foregroundCount
                let sequence = state.issue(priority, now: now, settings: settings)
                // The next in line may be able to go at once.
                wakeNext()
                return Permit(waited: now - arrived, priority: priority, sequence: sequence)
            case .proceed:
                // Budget is there, but others are ahead: they go first and wake us.
                guard now < deadline else { throw refusal(now: now, until: now + 1) }
                join(&ticket, share, priority)
                await waitForChange(until: deadline, ticket: ticket)
            case .waitUntil(let moment):
                guard moment <= deadline else { throw refusal(now: now, until: moment) }
                join(&ticket, share, priority)
                await waitForChange(until: moment, ticket: ticket)
            case .waitForCompletion:
                guard now < deadline else { throw refusal(now: now, until: state.windowEndsAt ?? now + 1) }
                join(&ticket, share, priority)
                await waitForChange(until: deadline, ticket: ticket)
            }
            if Task.isCancelled { throw refusal(now: clock.now(), until: clock.now() + 1) }
        }
    }

    private func join(_ ticket: inout Int?, _ share: BudgetShare, _ priority: UpstreamPriority) {
        guard ticket == nil else { return }
        ticket = queue.join(share, priority: priority)
        state.foregroundWaiting = queue.foregroundCount
    }

    /// Reports the answer to a permitted call (nil: the oldest in flight, or none).
    public func completed(_ permit: Permit? = nil, status: Int, limit: Int?, remaining: Int?, reset: Double?) {
        state.observe(
            status: status, limit: limit, remaining: remaining, reset: reset, now: clock.now(), settings: settings(),
            jitterSample: random(), sequence: permit?.sequence)
        onStateChange(state)
        wakeNext()
    }

    /// Reports that a permitted call ended with no answer.
    public func abandoned(_ permit: Permit? = nil) {
        state.abandon(sequence: permit?.sequence)
        wakeNext()
    }

    private func refusal(now: Double, until moment: Double) -> RateLimitRefusal {
        let wait = max(1, Int((moment - now).rounded(.up)))
        let reset = state.windowEndsAt.map { max(0, Int(($0 - now).rounded(.up))) }
        return RateLimitRefusal(retryAfterSeconds: wait, limit: state.limit, resetSeconds: reset)
    }

    /// Suspends until `moment`, or until this ticket may be next to go (`wakeNext`).
    private func waitForChange(until moment: Double, ticket: Int?) async {
        nextWaiterId += 1
        let id = nextWaiterId
        if let ticket { waiterOfTicket[ticket] = id }
        let timer = Task { [clock] in
            try? await clock.sleep(until: moment)
            self.wake(id)
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                waiters[id] = continuation
            }
        } onCancel: {
            Task { await self.wake(id) }
        }
        timer.cancel()
        if let ticket { waiterOfTicket[ticket] = nil }
    }

    private func wake(_ id: Int) {
        waiters.removeValue(forKey: id)?.resume()
    }

    /// Something changed (an answer, a slot, a permit issued, a ticket gone): only the call at
    /// the head of the queue can act on it, so only it looks again. The others wake at their own
    /// moment or deadline; waking all of them at every change would cost O(waiting²) per window.
    private func wakeNext() {
        guard let head = queue.head, let waiter = waiterOfTicket[head.id] else { return }
        wake(waiter)
    }
}
