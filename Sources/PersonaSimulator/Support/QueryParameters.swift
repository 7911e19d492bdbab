/// A decoded query string, in the order the parameters were sent.
///
/// Hummingbird's `queryParameters` leaves keys percent-encoded, and Persona's bracketed names
/// (`fields%5Bconnect%2Fconnection%5D`) arrive encoded from most clients, so both halves are
/// decoded here.
struct QueryParameters: Sendable {
    let pairs: [(name: String, value: String)]

    init(_ query: String?) {
        guard let query, !query.isEmpty else {
            pairs = []
            return
        }
        pairs = query.split(separator: "&").map { item in
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let value = parts.count > 1 ? Self.decode(parts[1]) : ""
            return (Self.decode(parts[0]), value)
        }
    }

    subscript(name: String) -> String? {
        pairs.first { $0.name == name }?.value
    }

    /// `a[b]=c` nests one level, the way Rails (and so Persona's API log) shows `get-params`.
    var nestedJSON: JSONValue {
        var members: [(key: String, value: JSONValue)] = []
        for (name, value) in pairs {
            if let open = name.firstIndex(of: "["), name.last == "]", open != name.startIndex {
                let base = String(name[..<open])
                let inner = String(name[name.index(after: open)..<name.index(before: name.endIndex)])
                if let index = members.firstIndex(where: { $0.key == base }), var nested = members[index].value.objectMembers {
                    nested.append((inner, .string(value)))
                    members[index].value = .object(nested)
                } else {
                    members.append((base, .object([(inner, .string(value))])))
                }
            } else {
                members.append((name, .string(value)))
            }
        }
        return .object(members)
    }

    static func decode(_ component: Substring) -> String {
        var bytes: [UInt8] = []
        var iterator = Array(component.utf8)[...]
        while let byte = iterator.popFirst() {
            if byte == UInt8(ascii: "+") {
                bytes.append(UInt8(ascii: " "))
            } else if byte == UInt8(ascii: "%"), iterator.count >= 2,
                let high = hexValue(iterator[iterator.startIndex]),
                let low = hexValue(iterator[iterator.startIndex + 1])
            {
                bytes.append(high << 4 | low)
                iterator = iterator.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Percent-encodes everything but RFC 3986 unreserved characters, so `[` becomes `%5B` as in
    /// Persona's `links`.
    static func encode(_ string: String) -> String {
        var output = ""
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
                UInt8(ascii: "_"), UInt8(ascii: "~"):
                output.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                output += "%" + (hex.count == 1 ? "0" : "") + hex
            }
        }
        return output
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
