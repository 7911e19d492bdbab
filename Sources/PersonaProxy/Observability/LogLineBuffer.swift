import CSupport
public import Foundation

/// Log lines leave the request path through this bounded queue: `enqueue` never blocks (it takes a
/// lock for a few instructions), and one dedicated thread writes them to stderr in batches. When
/// stderr stalls (a stopped journal, a pipe nobody reads) only that thread waits; past `capacity`
/// queued lines new ones are dropped and counted, never awaited.
///
/// `@unchecked Sendable`: every stored var is read and written only while holding `condition`.
public final class LogLineBuffer: @unchecked Sendable {
    /// The process's stderr writer.
    public static let standardError = LogLineBuffer(capacity: 4096) { text in
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 {
                if errno == EINTR { continue }
                return  // stderr is gone: nothing sensible left to do with the line
            }
            offset += written
        }
    }

    private let condition = NSCondition()
    private var lines: [String] = []
    private var writing = false
    private var dropped = 0
    private var started = false
    private let capacity: Int
    private let sink: @Sendable (String) -> Void

    public init(capacity: Int, sink: @escaping @Sendable (String) -> Void) {
        self.capacity = capacity
        self.sink = sink
    }

    public func enqueue(_ line: String) {
        condition.lock()
        defer { condition.unlock() }
        guard lines.count < capacity else {
            dropped += 1
            return
        }
        lines.append(line)
        if !started {
            started = true
            let thread = Thread { [self] in
                _ = ppx_name_this_thread("ppx-log-writer")
                drainForever()
            }
            thread.start()
        }
        condition.signal()
    }

    /// Lines dropped because the queue was full, since the process started.
    public var droppedLines: Int {
        condition.lock()
        defer { condition.unlock() }
        return dropped
    }

    /// Waits until every queued line is written, or `timeout` passes (shutdown: a stalled stderr
    /// must not hold the exit); true when everything was written.
    @discardableResult
    public func flush(timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        condition.lock()
        defer { condition.unlock() }
        while !lines.isEmpty || writing {
            guard condition.wait(until: deadline) else { return false }
        }
        return true
    }

    private func drainForever() {
        while true {
            condition.lock()
            while lines.isEmpty { condition.wait() }
            let batch = lines
            lines.removeAll(keepingCapacity: true)
            writing = true
            condition.unlock()
            sink(batch.joined())
            condition.lock()
            writing = false
            condition.broadcast()
            condition.unlock()
        }
    }
}
