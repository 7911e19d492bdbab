/// Whose share of Persona's budget a call spends, and how large that share is: when calls wait
/// for budget, permits go to shares in proportion to their weights (`FairQueue`).
public struct BudgetShare: Sendable, Hashable {
    /// A configured client's name, `local` (no clients configured: loopback callers) or
    /// `persona-proxy` (the proxy's own work). Names come from the configuration, so a metrics
    /// label made from them has a bounded set of values.
    public var client: String
    /// 1–1000 (`clients[].weight`).
    public var weight: Int

    public init(client: String, weight: Int = 1) {
        self.client = client
        self.weight = max(1, weight)
    }

    /// Callers on loopback when no clients are configured: one share for all of them.
    public static let local = BudgetShare(client: "local")
    /// Work nobody asked for (the sweep): always at background priority.
    public static let proxy = BudgetShare(client: "persona-proxy")
}
