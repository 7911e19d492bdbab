import Foundation

/// A fresh directory under the system temp dir, removed when the test's scope ends.
struct TemporaryDirectory: ~Copyable {
    let path: String

    init() {
        path = TestDirectory.makePath()
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// The same, shareable: `TestProxy` holds one, and a second proxy on the same files holds it too.
final class TestDirectory: Sendable {
    let path: String

    init() {
        path = Self.makePath()
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }

    static func makePath() -> String {
        let path = NSTemporaryDirectory() + "persona-proxy-tests-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}
