import CoreMetrics
import Synchronization

/// The counters a fast-path hit increments, made once and kept: building a `Counter` looks its
/// label set up in the registry under a lock, which costs more than the increment.
final class HitCounters: Sendable {
    private let metrics: ProxyMetrics
    private let route: String
    private let hit200: Counter
    private let hit404: Counter
    /// By client name (names come from the configuration: a bounded set).
    private let clients = Mutex<[String: Counter]>([:])

    init(metrics: ProxyMetrics, route: String) {
        self.metrics = metrics
        self.route = route
        hit200 = metrics.requestCounter(route: route, status: 200, cache: "hit")
        hit404 = metrics.requestCounter(route: route, status: 404, cache: "hit")
    }

    func hit(status: Int) {
        metrics.countRetrieve(hit: true)
        switch status {
        case 200: hit200.increment()
        case 404: hit404.increment()
        default: metrics.requestCounter(route: route, status: status, cache: "hit").increment()
        }
    }

    func client(_ name: String) {
        let counter = clients.withLock { clients in
            if let counter = clients[name] { return counter }
            let counter = metrics.clientRequestCounter(client: name)
            clients[name] = counter
            return counter
        }
        counter.increment()
    }
}
