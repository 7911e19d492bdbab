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

@Suite struct PurgeEpochsTests {
    @Test func aPurgeChangesTheEpochOfThatConnectionOnly() {
        let epochs = PurgeEpochs()
        let (a, b) = (epochs.epoch(for: "cxn_a"), epochs.epoch(for: "cxn_b"))
        epochs.bump("cxn_a")
        #expect(epochs.epoch(for: "cxn_a") != a)
        #expect(epochs.epoch(for: "cxn_b") == b)
    }

    @Test func purgingEverythingChangesEveryEpoch() {
        let epochs = PurgeEpochs()
        epochs.bump("cxn_a")
        let (a, b) = (epochs.epoch(for: "cxn_a"), epochs.epoch(for: "cxn_b"))
        epochs.bumpAll()
        #expect(epochs.epoch(for: "cxn_a") != a)
        #expect(epochs.epoch(for: "cxn_b") != b)
    }
}
