// swift-tools-version: 6.1
import PackageDescription

// One settings array for every target: Swift 6 language mode everywhere, and
// the upcoming features that make the concurrency checks stricter, not looser.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "persona-proxy",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "persona-proxy", targets: ["persona-proxy"]),
        .library(name: "PersonaProxy", targets: ["PersonaProxy"]),
        .library(name: "PersonaSimulator", targets: ["PersonaSimulator"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", exact: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", exact: "1.37.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", exact: "7.10.0"),
        .package(
            url: "https://github.com/apple/swift-configuration.git", exact: "1.4.0",
            traits: [.defaults, "YAML"]
        ),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", exact: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", exact: "2.4.1"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        // SHA-256 for the upstream fingerprint in cache keys (already in the graph through
        // AsyncHTTPClient's TLS stack; named here because the proxy now uses it directly).
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        // HTTP part types for the connection-limit handler in the server pipeline (already in the
        // graph through Hummingbird).
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        // Reads the configuration file's keys to refuse unknown ones (already in the graph
        // through swift-configuration's YAML trait).
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        .target(
            name: "PersonaProxy",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "GRDB", package: "GRDB.swift"),
                // The request log binds hit rows through SQLite's C API (the system library GRDB uses).
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                // The hit fast path sits before the HTTPTypes conversion (HTTP/1 parts, as
                // Hummingbird's own channel builds them): both already in the graph.
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "Yams", package: "Yams"),
                "CSupport",
            ],
            swiftSettings: swiftSettings
        ),
        // One C function: naming the proxy's own threads for top -H and perf (see its header).
        .target(name: "CSupport"),
        .target(
            name: "PersonaSimulator",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "persona-proxy",
            dependencies: [
                "PersonaProxy",
                "PersonaSimulator",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PersonaProxyTests",
            dependencies: [
                "PersonaProxy",
                "PersonaSimulator",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                // Builds databases in the layout of earlier versions, to test their migration.
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PersonaSimulatorTests",
            dependencies: [
                "PersonaSimulator",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            // Run by the spec-conformance test through python3, found via #filePath.
            exclude: ["validate_against_spec.py"],
            swiftSettings: swiftSettings
        ),
    ]
)
