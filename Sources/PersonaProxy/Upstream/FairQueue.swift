/// The order in which calls waiting for budget get it: start-time fair queueing (Goyal et al.,
/// SFQ) over `BudgetShare`s. Pure: no clock, no I/O; the governor owns one and asks it who is next.
///
/// Each waiting call gets a start tag when it joins: `max(virtual time, its share's last finish
/// tag)`, and its share's finish tag moves on by `1 / weight`. The call with the smallest start
/// tag goes next (ties: the one that joined first), and virtual time becomes that tag. So a share
/// with a thousand calls queued gets every other permit when a second share with one call
/// arrives (equal weights), not the thousand-and-first; a share of weight 3 gets three of every
/// four. Foreground calls always go before background ones, which keeps "within a client,
/// foreground before background" (and background work never delays a caller).
public struct FairQueue: Sendable, Equatable {
    public struct Ticket: Sendable, Equatable {
        public let id: Int
        public let share: BudgetShare
        public let priority: UpstreamPriority
        let start: Double
    }

    private var waiting: [Ticket] = []
    private var virtualTime = 0.0
    private var lastFinish: [BudgetShare: Double] = [:]
    private var nextId = 0

    public init() {}

    public var isEmpty: Bool { waiting.isEmpty }
    public var count: Int { waiting.count }
    public var foregroundCount: Int { waiting.reduce(0) { $0 + ($1.priority == .foreground ? 1 : 0) } }

    /// Queues a call; returns its ticket id.
    public mutating func join(_ share: BudgetShare, priority: UpstreamPriority) -> Int {
        nextId += 1
        let start = max(virtualTime, lastFinish[share] ?? 0)
        lastFinish[share] = start + 1 / Double(share.weight)
        waiting.append(Ticket(id: nextId, share: share, priority: priority, start: start))
        return nextId
    }

    /// The ticket that goes next.
    public var head: Ticket? {
        var best: Ticket?
        for ticket in waiting {
            guard let current = best else {
                best = ticket
                continue
            }
            if ticket.priority == .foreground, current.priority == .background { best = ticket; continue }
            if ticket.priority == current.priority, ticket.start < current.start { best = ticket }
        }
        return best
    }

    /// Where a ticket stands: how many tickets go before it.
    public func position(of id: Int) -> Int? {
        guard let ticket = waiting.first(where: { $0.id == id }) else { return nil }
        return waiting.reduce(0) { count, other in
            let before =
                (other.priority == .foreground && ticket.priority == .background)
                || (other.priority == ticket.priority && (other.start < ticket.start || (other.start == ticket.start && other.id < ticket.id)))
            return count + (before ? 1 : 0)
        }
    }

    /// The head was given its permit.
    public mutating func served(_ id: Int) {
        guard let index = waiting.firstIndex(where: { $0.id == id }) else { return }
        virtualTime = max(virtualTime, waiting[index].start)
        waiting.remove(at: index)
        forgetIfIdle()
    }

    /// A ticket gave up (deadline, cancellation) without a permit.
    public mutating func leave(_ id: Int) {
        waiting.removeAll { $0.id == id }
        forgetIfIdle()
    }

    /// With nobody waiting, history no longer matters: start again from zero, so the tags stay
    /// small and a share's past use is not held against it in the next contention.
    private mutating func forgetIfIdle() {
        guard waiting.isEmpty else { return }
        virtualTime = 0
        lastFinish = [:]
    }
}
