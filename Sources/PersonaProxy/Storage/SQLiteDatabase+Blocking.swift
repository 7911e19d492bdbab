public import GRDB

/// Work on the calling thread, which waits for it: for the hit writer's own threads, which run
/// at a low priority and pace themselves (`CPUPacer`) so that their work never takes the CPU
/// from an event loop for long.
extension SQLiteDatabase {
    /// `write` on the calling thread: one transaction, degraded state and all.
    ///
    /// - Parameter durable: false, the commit does not wait for the disk (`synchronous = NORMAL`
    ///   for this transaction alone, on a database that otherwise survives power loss): it
    ///   survives a crash of the process, and reaches the disk with the next durable commit or
    ///   checkpoint. The connection is FULL again before any other write runs on it.
    public func writeBlocking<T>(durable: Bool = true, _ updates: (Database) throws -> T) throws -> T {
        try failFastIfDegraded(probing: false)
        do {
            let result: T
            if durable || !survivesPowerLoss {
                result = try pool().write(updates)
            } else {
                result = try pool().writeWithoutTransaction { db in
                    // Outside a transaction: SQLite refuses to change the level inside one.
                    try db.execute(sql: "PRAGMA synchronous = NORMAL")
                    defer { try? db.execute(sql: "PRAGMA synchronous = FULL") }
                    var result: T?
                    try db.inTransaction {
                        result = try updates(db)
                        return .commit
                    }
                    return result!
                }
            }
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
