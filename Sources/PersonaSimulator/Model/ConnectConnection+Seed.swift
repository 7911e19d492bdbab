extension ConnectConnection {
    /// The id that always exists, matching the spec's examples.
    public static let fixedId = "cxn_ABC123"

    /// The fixed connection followed by `count` generated ones, oldest first.
    ///
    /// Everything is derived from the index, so every start serves the same ids and bytes. The mix
    /// (mostly active, some pending or inactive, every fifth one inbound) gives list filters and
    /// status transitions something to work on.
    static func seed(count: Int, organizationId: String) -> [ConnectConnection] {
        let fixedTime = Timestamp(year: 2018, month: 6, day: 1)
        var connections = [
            ConnectConnection(
                id: fixedId,
                status: "pending",
                sourceOrganizationId: organizationId,
                destinationOrganizationId: "org_XYZ789",
                createdAt: fixedTime,
                updatedAt: fixedTime
            )
        ]
        let firstSeedTime = Timestamp(year: 2024, month: 1, day: 1)
        let statuses = ["active", "active", "pending", "inactive"]
        for index in 0..<max(0, count) {
            let seed = UInt64(index)
            let partner = Token.deterministic(prefix: "org_", seed: 0x0a11_0000 &+ seed)
            let inbound = index % 5 == 4
            let status = statuses[index % statuses.count]
            let created = firstSeedTime.adding(milliseconds: Int64(index) * 86_400_000)
            connections.append(
                ConnectConnection(
                    id: Token.deterministic(prefix: "cxn_", seed: 0xc0_0000 &+ seed),
                    status: status,
                    sourceOrganizationId: inbound ? partner : organizationId,
                    destinationOrganizationId: inbound ? organizationId : partner,
                    createdAt: created,
                    updatedAt: status == "pending" ? created : created.adding(milliseconds: 3_600_000),
                    creator: Creator(id: Token.deterministic(prefix: "user_", seed: 0x05e4_0000 &+ seed), type: "user")
                )
            )
        }
        return connections
    }
}
