import ServiceLifecycle

/// On shutdown, after the server stopped accepting, lets upstream fetches still in flight
/// (including background refreshes nobody waits for) finish and store their answer before the
/// HTTP client and the database close.
struct FetchDrainService: Service {
    let readThrough: ReadThroughCache

    func run() async throws {
        try? await gracefulShutdown()
        await readThrough.drain()
    }
}
