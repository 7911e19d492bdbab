import Hummingbird
import HummingbirdTesting
import PersonaSimulator
import Testing

@Suite struct ListTests {
    static let collection = "/api/v1/connect/connections"

    private func page(_ response: TestResponse) throws -> (ids: [String], prev: String?, next: String?, records: [[String: Any]]) {
        let object = try response.jsonObject()
        let data = try #require(object["data"] as? [[String: Any]])
        let links = try #require(object["links"] as? [String: Any])
        return (data.compactMap { $0["id"] as? String }, links["prev"] as? String, links["next"] as? String, data)
    }

    @Test func defaultPageIsTenNewestFirst() async throws {
        let sim = SimulatorHarness()
        let seeded = await sim.state.connectionIds
        try await sim.run { client in
            let first = try page(try await client.execute(uri: Self.collection, method: .get, headers: sim.headers()))
            let newestFirst = Array(seeded.reversed())
            #expect(first.ids == Array(newestFirst[0..<10]))
            #expect(first.prev == nil)
            #expect(first.next == "/api/v1/connect/connections?page%5Bafter%5D=\(newestFirst[9])")

            let second = try page(try await client.execute(uri: try #require(first.next), method: .get, headers: sim.headers()))
            #expect(second.ids == Array(newestFirst[10..<20]))
            #expect(second.prev == "/api/v1/connect/connections?page%5Bbefore%5D=\(newestFirst[10])")

            let back = try page(try await client.execute(uri: try #require(second.prev), method: .get, headers: sim.headers()))
            #expect(back.ids == first.ids)

            let last = try page(
                try await client.execute(uri: Self.collection + "?page%5Bsize%5D=100", method: .get, headers: sim.headers()))
            #expect(last.ids == newestFirst)
            #expect(last.prev == nil && last.next == nil)
        }
    }

    @Test func filterByStatusCarriesIntoLinks() async throws {
        let sim = SimulatorHarness()
        try await sim.run { client in
            let response = try await client.execute(
                uri: Self.collection + "?filter%5Bstatus%5D=inactive&page%5Bsize%5D=2", method: .get, headers: sim.headers())
            let result = try page(response)
            #expect(result.ids.count == 2)
            #expect(result.records.allSatisfy { ($0["attributes"] as? [String: Any])?["status"] as? String == "inactive" })
            #expect(result.next?.hasSuffix("&page%5Bsize%5D=2&filter%5Bstatus%5D=inactive") == true)
        }
    }

    @Test(arguments: ["0", "101", "ten", "2.5"])
    func pageSizeOutOfRangeIs400(size: String) async throws {
        let sim = SimulatorHarness()
        try await sim.run { client in
            let response = try await client.execute(uri: Self.collection + "?page%5Bsize%5D=\(size)", method: .get, headers: sim.headers())
            #expect(response.status == .badRequest)
            #expect(response.hasHeader("Request-Id"))
        }
    }

    @Test func createdConnectionsComeFirst() async throws {
        let sim = SimulatorHarness()
        try await sim.run { client in
            let created = try await client.execute(uri: Self.collection, method: .post, headers: sim.headers(), body: createBody())
            let data = try #require(try created.jsonObject()["data"] as? [String: Any])
            let id = try #require(data["id"] as? String)
            #expect(id.hasPrefix("cxn_") && id.count == 26)
            let list = try page(try await client.execute(uri: Self.collection + "?page%5Bsize%5D=1", method: .get, headers: sim.headers()))
            #expect(list.ids == [id])
        }
    }
}
