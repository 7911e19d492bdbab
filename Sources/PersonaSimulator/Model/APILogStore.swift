/// Persona's API log for the simulated environment, bounded so long benchmarks stay small.
struct APILogStore: Sendable {
    private var entries: [APILogEntry] = []
    /// Absolute position of each id; `dropped` converts it to an index into `entries`.
    private var positions: [String: Int] = [:]
    private var dropped = 0
    let capacity: Int

    init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    mutating func append(_ entry: APILogEntry) {
        positions[entry.id] = dropped + entries.count
        entries.append(entry)
        // Trim in batches: removing from the front of an array is linear.
        if entries.count > capacity + capacity / 10 {
            let excess = entries.count - capacity
            for old in entries[..<excess] { positions[old.id] = nil }
            entries.removeFirst(excess)
            dropped += excess
        }
    }

    func entry(id: String) -> APILogEntry? {
        guard let position = positions[id] else { return nil }
        return entries[position - dropped]
    }

    var newestFirst: [APILogEntry] { entries.reversed() }
}
