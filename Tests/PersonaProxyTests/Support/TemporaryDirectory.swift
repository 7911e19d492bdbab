import Foundation

/// A fresh directory under the system temp dir, removed when the test's scope ends.
struct TemporaryDirectory: ~Copyable {
    let path: String

    init() {
        path = NSTemporaryDirectory() + "persona-proxy-tests-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }
}
