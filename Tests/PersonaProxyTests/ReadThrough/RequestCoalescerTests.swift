import PersonaProxy
import Synchronization
import Testing

@Suite struct RequestCoalescerTests {
    @Test func callersForOneKeyShareOneRunAndOnlyLaterOnesAreCollapsed() async {
        let coalescer = RequestCoalescer<String, Int>()
        let gate = Gate()
        let runs = Mutex(0)
        let operation: @Sendable () async -> Int = {
            let n = runs.withLock { $0 += 1; return $0 }
            await gate.wait()
            return n * 10
        }
        async let first = coalescer.run("a", operation: operation)
        await gate.waitForArrivals(1)
        async let second = coalescer.run("a", operation: operation)
        async let other = coalescer.run("b", operation: operation)
        await gate.waitForArrivals(2)
        gate.open()
        let results = await [first, second, other]
        #expect(runs.withLock { $0 } == 2, "one run for a, one for b")
        #expect(results.map(\.collapsed) == [false, true, false])
        #expect(results[0].value == results[1].value)
        #expect(results[2].value != results[0].value)
    }

    @Test func aCallerThatGoesAwayDoesNotCancelTheRunForTheOthers() async {
        let coalescer = RequestCoalescer<String, String>()
        let gate = Gate()
        let finished = Mutex(false)
        let operation: @Sendable () async -> String = {
            await gate.wait()
            finished.withLock { $0 = true }
            return Task.isCancelled ? "cancelled" : "done"
        }
        let leaver = Task { await coalescer.run("a", operation: operation) }
        await gate.waitForArrivals(1)
        leaver.cancel()
        async let stayer = coalescer.run("a", operation: operation)
        gate.open()
        #expect(await stayer.value == "done")
        #expect(await stayer.collapsed)
        #expect(finished.withLock { $0 })
    }

    @Test func afterForgetAllTheNextCallerStartsAFreshRun() async {
        let coalescer = RequestCoalescer<String, Int>()
        let gate = Gate()
        let runs = Mutex(0)
        let operation: @Sendable () async -> Int = {
            let n = runs.withLock { $0 += 1; return $0 }
            if n == 1 { await gate.wait() }
            return n
        }
        async let stuck = coalescer.run("a", operation: operation)
        await gate.waitForArrivals(1)
        coalescer.forgetAll { $0 == "a" }
        let fresh = await coalescer.run("a", operation: operation)
        #expect(fresh.value == 2 && !fresh.collapsed, "a purge must not hand out a fetch begun before it")
        gate.open()
        #expect(await stuck.value == 1)
    }

    @Test func startRunsInTheBackgroundOnceAndDrainWaitsForIt() async {
        let coalescer = RequestCoalescer<String, Int>()
        let gate = Gate()
        let done = Mutex(false)
        #expect(coalescer.start("a") {
            await gate.wait()
            done.withLock { $0 = true }
            return 1
        })
        await gate.waitForArrivals(1)
        #expect(!coalescer.start("a") { 2 }, "a second start while one runs is refused")
        let drained = Task { await coalescer.drain() }
        gate.open()
        await drained.value
        #expect(done.withLock { $0 })
    }
}

@Suite struct PurgeBarrierTests {
    @Test func aFetchBegunBeforeAPurgeCannotStoreAndOneBegunAfterCan() async {
        let barrier = PurgeBarrier()
        let before = barrier.begin("cxn_a")
        let other = barrier.begin("cxn_b")
        _ = await barrier.purge("cxn_a") { 0 }
        let after = barrier.begin("cxn_a")
        #expect(await barrier.storeIfCurrent(before) {} == false)
        #expect(await barrier.storeIfCurrent(other) {} == true, "a purge of one connection leaves the others alone")
        #expect(await barrier.storeIfCurrent(after) {} == true)
        for ticket in [before, other, after] { barrier.end(ticket) }
    }

    @Test func purgingEverythingInvalidatesEveryFetchInFlight() async {
        let barrier = PurgeBarrier()
        let tickets = ["cxn_a", "cxn_b", "cxn_c"].map(barrier.begin)
        _ = await barrier.purgeEverything { 0 }
        for ticket in tickets {
            #expect(await barrier.storeIfCurrent(ticket) {} == false)
            barrier.end(ticket)
        }
    }

    /// The race the barrier exists for: a store already past its check when the purge arrives
    /// must finish before the purge removes, so the purge's delete is the last word.
    @Test func aPurgeWaitsForAStoreInProgressAndRemovesAfterIt() async {
        let barrier = PurgeBarrier()
        let gate = Gate()
        let order = OrderLog()
        let ticket = barrier.begin("cxn_a")
        async let stored = barrier.storeIfCurrent(ticket) {
            await gate.wait()
            order.append("store")
        }
        await gate.waitForArrivals(1)
        async let purged: Int = barrier.purge("cxn_a") {
            order.append("purge")
            return 1
        }
        for _ in 0..<1000 { await Task.yield() }
        #expect(order.events.isEmpty, "the purge must wait for the store in progress")
        gate.open()
        _ = await (stored, purged)
        #expect(order.events == ["store", "purge"])
        barrier.end(ticket)
    }

    @Test func purgesOfIdsNobodyFetchesLeaveNothingBehind() async {
        let barrier = PurgeBarrier()
        for index in 0..<100_000 { _ = await barrier.purge("cxn_\(index)") { 0 } }
        #expect(barrier.trackedConnections == 0)
        let ticket = barrier.begin("cxn_1")
        #expect(barrier.trackedConnections == 1)
        barrier.end(ticket)
        #expect(barrier.trackedConnections == 0, "a finished fetch leaves nothing behind either")
    }
}

final class OrderLog: Sendable {
    private let state = Mutex<[String]>([])
    func append(_ event: String) { state.withLock { $0.append(event) } }
    var events: [String] { state.withLock { $0 } }
}
