import NIOCore
import PersonaProxy
import Testing

/// What may be stored, and what a caller may be shown, decided from Persona's answer alone.
@Suite struct AnswerCheckTests {
    static func response(_ status: Int, _ body: String, contentType: String = "application/json; charset=utf-8") -> UpstreamResponse {
        UpstreamResponse(
            status: status, headers: [(name: "Content-Type", value: contentType), (name: "Request-Id", value: "req_1")], body: ByteBuffer(string: body))
    }

    @Test(arguments: [
        #"{"data":{"type":"connect/connection","id":"cxn_A","attributes":{"status":"active"}}}"#,
        #"{"data":{"type":"connect/connection","id":"cxn_A","attributes":{"sourceOrganizationId":"org_1"}}}"#,
    ])
    func theRequestedConnectionPasses(body: String) {
        #expect(AnswerCheck.retrieve(Self.response(200, body), connectionId: "cxn_A") == nil)
    }

    @Test func aBodyThatIsNotJSONIsInvalid() {
        let invalid = AnswerCheck.retrieve(Self.response(200, "<html>oops</html>", contentType: "text/html"), connectionId: "cxn_A")
        #expect(invalid?.reason == .notJSON)
        #expect(invalid?.explanation.contains("text/html") == true)
    }

    @Test(arguments: [#"{"data":{"type":"inquiry","id":"cxn_A"}}"#, #"{"data":[]}"#, #"{"errors":[{"title":"x"}]}"#, "[1,2]"])
    func aDocumentThatIsNotAConnectionIsInvalid(body: String) {
        let reason = AnswerCheck.retrieve(Self.response(200, body), connectionId: "cxn_A")?.reason
        #expect(reason == .notAConnection || reason == .notJSON)
    }

    @Test func anotherConnectionIsInvalid() {
        let body = #"{"data":{"type":"connect/connection","id":"cxn_B"}}"#
        #expect(AnswerCheck.retrieve(Self.response(200, body), connectionId: "cxn_A")?.reason == .wrongId)
    }

    @Test func aNotFoundMustBePersonasErrorDocument() {
        #expect(AnswerCheck.retrieve(Self.response(404, #"{"errors":[{"title":"Record not found"}]}"#), connectionId: "cxn_A") == nil)
        let page = Self.response(404, "<h1>Not Found</h1>", contentType: "text/html")
        #expect(AnswerCheck.retrieve(page, connectionId: "cxn_A")?.reason == .notAnErrorDocument)
    }

    @Test func anHTMLErrorBecomesPersonaShapedWithTheSameStatusAndHeaders() {
        let shaped = AnswerCheck.personaShaped(Self.response(502, "<html>Bad Gateway</html>", contentType: "text/html"))
        #expect(shaped.status == 502)
        #expect(shaped.header("Content-Type") == "application/json; charset=utf-8")
        #expect(shaped.personaRequestId == "req_1")
        #expect(String(buffer: shaped.body).hasPrefix(#"{"errors":[{"title":"Bad gateway","details":"Persona answered 502 with a body"#))
    }

    @Test func personasOwnErrorsAndSuccessesPassByteForByte() {
        let own = Self.response(429, #"{"errors":[{"title":"Rate limit exceeded","details":"You have hit your rate limit"}]}"#)
        #expect(AnswerCheck.personaShaped(own).body == own.body)
        let success = Self.response(201, "not even json")
        #expect(AnswerCheck.personaShaped(success).body == success.body)
    }
}

@Suite struct CreateBodyValidationTests {
    @Test(arguments: [
        #"{"data":{"attributes":{"destination-organization-id":"org_XYZ789"}}}"#,
        #"{"data":{"attributes":{"destinationOrganizationId":"org_XYZ789"}}}"#,
        #"{"data":{"attributes":{"destination_organization_id":"org_XYZ789"}}}"#,
    ])
    func personasCreateBodyPassesInAnyInflection(body: String) throws {
        try ConnectionWrite.validateCreateBody(ByteBuffer(string: body))
    }

    @Test(arguments: [
        "", "not json", "[]", #"{}"#, #"{"data":{}}"#, #"{"data":{"attributes":{}}}"#,
        #"{"data":{"attributes":{"destination-organization-id":""}}}"#,
        #"{"data":{"attributes":{"destination-organization-id":42}}}"#,
        #"{"data":{"attributes":{"destination-organization-id":"org_X","status":"active"}}}"#,
        #"{"data":{"type":"connect/connection","attributes":{"destination-organization-id":"org_X"}}}"#,
        #"{"data":{"attributes":{"destination-organization-id":"org_X"}},"meta":{}}"#,
    ])
    func anythingElseIsRefusedBeforeItCostsBudget(body: String) {
        #expect(throws: InvalidRequest.self) { try ConnectionWrite.validateCreateBody(ByteBuffer(string: body)) }
    }
}
