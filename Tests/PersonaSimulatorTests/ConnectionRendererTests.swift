import PersonaSimulator
import Testing

@Suite struct ConnectionRendererTests {
    let connection = ConnectConnection(
        id: "cxn_ABC123",
        status: "pending",
        sourceOrganizationId: "org_ABC123",
        destinationOrganizationId: "org_XYZ789",
        createdAt: Timestamp(year: 2018, month: 6, day: 1),
        updatedAt: Timestamp(millisecondsSince1970: 1_527_811_200_123)
    )

    private func render(_ renderer: ConnectionRenderer) -> String {
        String(decoding: renderer.document(for: connection), as: UTF8.self)
    }

    @Test func kebabIsTheSpecExample() {
        #expect(
            render(ConnectionRenderer())
                == #"{"data":{"type":"connect/connection","id":"cxn_ABC123","attributes":{"status":"pending","#
                + #""source-organization-id":"org_ABC123","destination-organization-id":"org_XYZ789","#
                + #""created-at":"2018-06-01T00:00:00.000Z","updated-at":"2018-06-01T00:00:00.123Z"}}}"#
        )
    }

    @Test func inflections() {
        #expect(render(ConnectionRenderer(inflection: .camel)).contains(#""sourceOrganizationId":"org_ABC123""#))
        #expect(render(ConnectionRenderer(inflection: .camel)).contains(#""createdAt":"#))
        #expect(render(ConnectionRenderer(inflection: .snake)).contains(#""destination_organization_id":"org_XYZ789""#))
        #expect(render(ConnectionRenderer(inflection: .snake)).contains(#""updated_at":"#))
    }

    @Test func fieldsKeepCanonicalOrderAndAcceptAnyInflection() {
        let a = ConnectionRenderer(inflection: .kebab, fieldsParameter: "created-at,status")
        let b = ConnectionRenderer(inflection: .kebab, fieldsParameter: "status,createdAt")
        let c = ConnectionRenderer(inflection: .kebab, fieldsParameter: "status, created_at, no-such-field")
        let expected = #"{"data":{"type":"connect/connection","id":"cxn_ABC123","attributes":{"status":"pending","created-at":"2018-06-01T00:00:00.000Z"}}}"#
        #expect(render(a) == expected)
        #expect(render(b) == expected)
        #expect(render(c) == expected)
    }

    @Test func creatorIsARelationshipAndFollowsSparseFieldsets() {
        var withCreator = connection
        withCreator.creator = .init(id: "api_X", type: "api-key")
        let full = String(decoding: ConnectionRenderer().document(for: withCreator), as: UTF8.self)
        #expect(full.hasSuffix(#""relationships":{"creator":{"data":{"id":"api_X","type":"api-key"}}}}}"#))
        let sparse = String(decoding: ConnectionRenderer(inflection: .kebab, fieldsParameter: "status").document(for: withCreator), as: UTF8.self)
        #expect(!sparse.contains("relationships"))
    }

    @Test func kebabFormAndInflectionRoundTrip() {
        for inflection in KeyInflection.allCases {
            for name in ConnectionRenderer.attributeNames {
                #expect(KeyInflection.kebabForm(of: inflection.apply(toKebab: name)) == name)
            }
        }
    }

    @Test func timestampFormats() {
        let time = Timestamp(millisecondsSince1970: 1_695_241_203_485)
        #expect(time.iso8601 == "2023-09-20T20:20:03.485Z")
        #expect(time.iso8601WithOffset == "2023-09-20T20:20:03.485+00:00")
        #expect(Timestamp(year: 2024, month: 2, day: 29, hour: 23, minute: 59, second: 59).iso8601 == "2024-02-29T23:59:59.000Z")
    }
}
