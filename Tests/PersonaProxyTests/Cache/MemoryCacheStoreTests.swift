import Foundation
import NIOCore
import PersonaProxy
import Testing

/// The memory tier: least recently used goes first, bounded by entries and by bytes, with no
/// trace left of what was removed.
@Suite struct MemoryCacheStoreTests {
    static func entry(_ id: String, bytes: Int = 10) -> CachedEntry {
        var entry = CacheStoreContractTests.entry(id)
        entry.body = ByteBuffer(repeating: UInt8(ascii: "x"), count: bytes)
        return entry
    }

    static func has(_ store: MemoryCacheStore, _ id: String) -> Bool {
        store.entry(for: entry(id).key) != nil
    }

    @Test func capacityEvictsTheLeastRecentlyUsedEntry() {
        let store = MemoryCacheStore(capacity: 2)
        store.store(Self.entry("cxn_1"))
        store.store(Self.entry("cxn_2"))
        #expect(Self.has(store, "cxn_1"), "reading cxn_1 makes it the most recent")
        store.store(Self.entry("cxn_3"))
        #expect(store.count() == 2)
        #expect(Self.has(store, "cxn_1") && Self.has(store, "cxn_3"))
        #expect(!Self.has(store, "cxn_2"))
    }

    @Test func bytesAreBoundedToo() {
        let store = MemoryCacheStore(maxBytes: 100)
        for index in 0..<5 { store.store(Self.entry("cxn_\(index)", bytes: 30)) }
        #expect(store.bytes <= 100)
        #expect(store.count() == 3)
        #expect(Self.has(store, "cxn_4") && !Self.has(store, "cxn_0"))
        store.store(Self.entry("cxn_big", bytes: 101))
        #expect(!Self.has(store, "cxn_big"), "an entry larger than the whole tier is not held")
    }

    /// Purge and fetch again many times: the tier holds one entry, and evicting by capacity still
    /// evicts the right one (the old order list kept a duplicate per purge).
    @Test func purgeAndStoreAgainLeavesNoDuplicates() {
        let store = MemoryCacheStore(capacity: 2)
        for _ in 0..<1000 {
            store.store(Self.entry("cxn_hot"))
            store.removeAll(connectionId: "cxn_hot")
        }
        store.store(Self.entry("cxn_hot"))
        store.store(Self.entry("cxn_2"))
        #expect(store.count() == 2)
        #expect(Self.has(store, "cxn_hot") && Self.has(store, "cxn_2"))
        #expect(store.bytes == 20)
    }

    @Test func pruningDropsExpiredEntriesAndTheirBytes() {
        let store = MemoryCacheStore()
        var old = Self.entry("cxn_old", bytes: 50)
        old.expiresAt = Date(timeIntervalSince1970: 10)
        store.store(old)
        store.store(Self.entry("cxn_new", bytes: 5))
        #expect(store.pruneExpired(before: Date(timeIntervalSince1970: 1_000), limit: 10) == 1)
        #expect(store.bytes == 5)
        #expect(!Self.has(store, "cxn_old"))
    }
}
