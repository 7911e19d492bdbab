import Foundation
import NIOCore
import PersonaProxy
import Testing

/// What the hit fast path keeps beside a memory entry (its answer's unchanging head): made once,
/// made again after the entry changes, and counted against the tier's byte bound.
@Suite struct MemoryPreparedBytesTests {
    @Test func preparedBytesAreMadeOnceAndKept() {
        let store = MemoryCacheStore()
        let entry = MemoryCacheStoreTests.entry("cxn_1")
        store.store(entry)
        var made = 0
        for _ in 0..<3 {
            let hit = store.entry(for: entry.key) { entry in
                made += 1
                return ByteBuffer(string: "head of \(entry.personaRequestId ?? "")")
            }
            #expect(hit?.prepared == ByteBuffer(string: "head of req_cxn_1"))
        }
        #expect(made == 1)
        #expect(store.bytes == 10 + "head of req_cxn_1".utf8.count)
    }

    /// A refetch stores a new answer (another `Request-Id`): the old head must not be served with it.
    @Test func storingTheKeyAgainDropsTheOldPreparedBytes() {
        let store = MemoryCacheStore()
        var entry = MemoryCacheStoreTests.entry("cxn_1")
        store.store(entry)
        _ = store.entry(for: entry.key) { ByteBuffer(string: $0.personaRequestId ?? "") }
        entry.personaRequestId = "req_second"
        store.store(entry)
        let hit = store.entry(for: entry.key) { ByteBuffer(string: $0.personaRequestId ?? "") }
        #expect(hit?.prepared == ByteBuffer(string: "req_second"))
        #expect(store.bytes == 10 + "req_second".utf8.count)
    }

    @Test func revalidatingMakesThemAgain() {
        let store = MemoryCacheStore()
        let entry = MemoryCacheStoreTests.entry("cxn_1")
        store.store(entry)
        _ = store.entry(for: entry.key) { _ in ByteBuffer(string: "before") }
        #expect(store.revalidate(entry.key, fetchedAt: entry.fetchedAt, at: entry.fetchedAt.addingTimeInterval(60), expiresAt: entry.expiresAt))
        let hit = store.entry(for: entry.key) { _ in ByteBuffer(string: "after") }
        #expect(hit?.prepared == ByteBuffer(string: "after"))
        #expect(hit?.entry.revalidatedAt == entry.fetchedAt.addingTimeInterval(60))
    }

    @Test func evictionReleasesPreparedBytes() {
        let store = MemoryCacheStore(capacity: 1)
        let first = MemoryCacheStoreTests.entry("cxn_1")
        store.store(first)
        _ = store.entry(for: first.key) { _ in ByteBuffer(repeating: 0, count: 100) }
        store.store(MemoryCacheStoreTests.entry("cxn_2"))
        #expect(store.count() == 1)
        #expect(store.bytes == 10)
    }
}
