import PersonaProxy
import Synchronization
import Testing

/// Who gets budget first when calls wait for it.
@Suite struct FairQueueTests {
    let a = BudgetShare(client: "a")
    let b = BudgetShare(client: "b")

    /// Serves the head `count` times and returns whose tickets went, in order.
    func serve(_ queue: inout FairQueue, _ count: Int) -> [String] {
        (0..<count).compactMap { _ in
            guard let head = queue.head else { return nil }
            queue.served(head.id)
            return head.share.client
        }
    }

    @Test func aLateClientWithFewCallsIsServedWithinItsShareNotAfterTheBacklog() {
        var queue = FairQueue()
        for _ in 0..<200 { _ = queue.join(a, priority: .foreground) }
        #expect(serve(&queue, 20) == Array(repeating: "a", count: 20))
        for _ in 0..<5 { _ = queue.join(b, priority: .foreground) }
        let next = serve(&queue, 10)
        #expect(next.filter { $0 == "b" }.count == 5, "b's five calls go within the next ten permits: \(next)")
        #expect(next == ["b", "a", "b", "a", "b", "a", "b", "a", "b", "a"] || next == ["a", "b", "a", "b", "a", "b", "a", "b", "a", "b"])
        #expect(queue.count == 175)
    }

    @Test func permitsFollowTheWeights() {
        var queue = FairQueue()
        let heavy = BudgetShare(client: "heavy", weight: 3)
        for _ in 0..<30 { _ = queue.join(heavy, priority: .foreground) }
        for _ in 0..<30 { _ = queue.join(b, priority: .foreground) }
        let order = serve(&queue, 40)
        #expect(order.filter { $0 == "heavy" }.count == 30)
        #expect(order.prefix(20).filter { $0 == "heavy" }.count == 15, "three of every four: \(order.prefix(20))")
    }

    @Test func foregroundGoesBeforeBackgroundWhateverTheTags() {
        var queue = FairQueue()
        _ = queue.join(a, priority: .background)
        _ = queue.join(a, priority: .background)
        _ = queue.join(b, priority: .foreground)
        let foreground = queue.join(a, priority: .foreground)
        #expect(queue.foregroundCount == 2)
        #expect(queue.position(of: foreground) == 1, "behind b's foreground call only")
        let order = (0..<4).map { _ -> UpstreamPriority in
            let head = queue.head!
            queue.served(head.id)
            return head.priority
        }
        #expect(order == [.foreground, .foreground, .background, .background])
    }

    @Test func aTicketThatLeavesGivesUpItsTurn() {
        var queue = FairQueue()
        let first = queue.join(a, priority: .foreground)
        _ = queue.join(b, priority: .foreground)
        queue.leave(first)
        #expect(queue.head?.share == b)
        queue.served(queue.head!.id)
        #expect(queue.isEmpty)
    }

    @Test func historyIsForgottenOnceNobodyWaits() {
        var queue = FairQueue()
        for _ in 0..<50 { _ = queue.join(a, priority: .foreground) }
        _ = serve(&queue, 50)
        // a used a lot, but nobody was waiting in between: b does not jump ahead of a's next call.
        let next = queue.join(a, priority: .foreground)
        _ = queue.join(b, priority: .foreground)
        #expect(queue.head?.id == next)
    }

    /// The governor hands out permits in the queue's order once budget returns.
    @Test func governorGrantsWaitingCallsInFairOrder() async throws {
        let clock = ManualMonotonicClock()
        let governor = RateLimitGovernor(clock: clock, settings: { RateLimitSettings() }, random: { 0 })
        // Learn the budget: none left until the window ends in 5 s.
        let probe = try await governor.permit(.foreground, deadline: 60)
        await governor.completed(probe, status: 200, limit: 20, remaining: 0, reset: 5)

        let granted = Granted()
        @Sendable func ask(_ share: BudgetShare) -> Task<Void, Never> {
            Task {
                guard let permit = try? await governor.permit(.foreground, share: share, deadline: 60) else { return }
                let count = granted.order.withLock { $0.append(share.client); return $0.count }
                await governor.completed(permit, status: 200, limit: 20, remaining: 20 - count, reset: 5)
            }
        }
        var tasks = (0..<12).map { _ in ask(a) }
        while await governor.waiting < 12 { await Task.yield() }
        tasks += (0..<3).map { _ in ask(b) }
        while await governor.waiting < 15 { await Task.yield() }
        #expect(granted.order.withLock { $0 }.isEmpty, "nothing goes before the window ends")

        clock.advance(by: 5)
        for task in tasks { await task.value }
        let order = granted.order.withLock { $0 }
        #expect(order.count == 15)
        #expect(Array(order.prefix(6)) == ["a", "b", "a", "b", "a", "b"], "b is not served after a's backlog: \(order)")
    }
}

private final class Granted: Sendable {
    let order = Mutex<[String]>([])
}
