import Hummingbird

extension SimulatorRequestRecord {
    init(_ request: Request, status: Int, requestId: String?, isReplay: Bool = false) {
        var headers = request.head.authority.map { [(name: "host", value: $0)] } ?? []
        headers += request.headers.map { (name: $0.name.canonicalName, value: $0.value) }
        self.init(
            method: request.method.rawValue,
            path: request.uri.path,
            query: request.uri.query,
            headers: headers,
            status: status,
            requestId: requestId,
            isReplay: isReplay
        )
    }
}
