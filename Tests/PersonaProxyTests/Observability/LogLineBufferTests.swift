import Foundation
import PersonaProxy
import Synchronization
import Testing

/// A stalled stderr must never stall a request: lines queue up to a bound, then are dropped and
/// counted, and the caller of `enqueue` never waits for the writer.
@Suite struct LogLineBufferTests {
    @Test func aStalledSinkNeverBlocksTheCallerAndDropsPastTheBound() {
        let release = DispatchSemaphore(value: 0)
        let written = Mutex<[String]>([])
        let buffer = LogLineBuffer(capacity: 5) { text in
            release.wait()  // stderr is stuck until the test lets go
            written.withLock { $0.append(text) }
        }
        let started = ContinuousClock.now
        for index in 0..<1000 { buffer.enqueue("line \(index)\n") }
        #expect(ContinuousClock.now - started < .seconds(1), "enqueue waited for the stalled writer")
        #expect(buffer.droppedLines >= 1000 - 2 * 5, "at most one batch in the writer and one queue full are kept")
        #expect(!buffer.flush(timeout: 0.05), "nothing can be written while the sink is stuck")
        for _ in 0..<10 { release.signal() }
        #expect(buffer.flush(timeout: 5))
        let lines = written.withLock { $0.joined() }.split(separator: "\n")
        #expect(lines.first == "line 0", "the first lines are kept, in order")
        #expect(lines.count + buffer.droppedLines == 1000)
    }
}
