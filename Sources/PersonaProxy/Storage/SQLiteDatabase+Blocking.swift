public import GRDB

/// Work on the calling thread, which waits for it: for the hit writer's own threads, which run
/// at a low priority and pace themselves (`CPUPacer`) so that their work never takes the CPU
/// from an event loop for long.
extension SQLiteDatabase {
    /// `write` on the calling thread: one transaction, degraded state and all.
    public func writeBlocking<T>(_ updates: (Database) throws -> T) throws -> T {
        try failFastIfDegraded(probing: false)
        do {
            let result = try pool().write(updates)
            recordWriteSucceeded()
            return result
        } catch {
            throw recordWriteFailed(error)
        }
    }

    /// A passive checkpoint on the calling thread (it never waits for readers), outside any commit:
    /// the hit writer runs it apart from its commits, so neither is a long stretch of CPU.
    public func checkpointBlocking() throws {
        _ = try pool().writeWithoutTransaction { db in try db.checkpoint(.passive) }
    }
}
