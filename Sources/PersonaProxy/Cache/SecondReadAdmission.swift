import Synchronization

/// Whether an entry read from SQLite should be promoted to the memory tier: on its second read
/// among roughly the last `slots` reads, not its first. When the cache is far larger than the
/// memory tier and reads spread over all of it (a million entries, ten thousand in memory),
/// promoting every read evicts a warm entry for one that is unlikely to be read again soon, and
/// pays an insert and an eviction per read for nothing; a key read twice in a short while is a
/// key worth keeping warm. One slot per key hash, so the memory is fixed (8 bytes a slot).
public final class SecondReadAdmission: Sendable {
    private let slots: Mutex<[UInt64]>
    private let mask: Int

    /// - Parameter slots: rounded up to a power of two.
    public init(slots: Int = 1 << 16) {
        var count = 1
        while count < slots { count <<= 1 }
        self.slots = Mutex(Array(repeating: 0, count: count))
        self.mask = count - 1
    }

    /// Records a read of the key with this hash; true when it is the second read since its slot
    /// last held another key (the slot then starts afresh).
    public func admit(_ hash: Int64) -> Bool {
        let value = UInt64(bitPattern: hash)
        let slot = Int(truncatingIfNeeded: value) & mask
        return slots.withLock { slots in
            if slots[slot] == value {
                slots[slot] = 0
                return true
            }
            slots[slot] = value
            return false
        }
    }
}
