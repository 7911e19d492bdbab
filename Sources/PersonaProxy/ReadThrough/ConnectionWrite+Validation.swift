import Foundation
public import NIOCore

extension ConnectionWrite {
    /// Persona's create schema: `{"data":{"attributes":{"destination-organization-id":"org_…"}}}`
    /// and nothing else (the spec sets `additionalProperties: false` at every level). Checked
    /// before the call, so a malformed body costs no budget. The attribute is accepted in any
    /// `Key-Inflection` spelling, as Persona accepts it.
    public static func validateCreateBody(_ body: ByteBuffer) throws(InvalidRequest) {
        let bytes = Data(body.readableBytesView)
        guard let document = (try? JSONSerialization.jsonObject(with: bytes)) as? [String: Any] else {
            throw InvalidRequest("The request body must be a JSON object: {\"data\":{\"attributes\":{\"destination-organization-id\":\"org_...\"}}}.")
        }
        guard Set(document.keys) == ["data"], let data = document["data"] as? [String: Any] else {
            throw InvalidRequest("The request body must have exactly one member, data, an object.")
        }
        guard Set(data.keys) == ["attributes"], let attributes = data["attributes"] as? [String: Any] else {
            throw InvalidRequest("data must have exactly one member, attributes, an object.")
        }
        let spellings: Set<String> = ["destination-organization-id", "destinationOrganizationId", "destination_organization_id"]
        guard attributes.count == 1, let (name, value) = attributes.first, spellings.contains(name) else {
            throw InvalidRequest("data.attributes must have exactly one member, destination-organization-id.")
        }
        guard let id = value as? String, !id.isEmpty, id.utf8.count <= 128 else {
            throw InvalidRequest("data.attributes.\(name) must be a non-empty string, an organization id like org_XYZ789.")
        }
    }
}
