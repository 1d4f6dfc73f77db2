// swift-tools-version:6.1
import PackageDescription

// Chorus builds and runs on Linux only: it uses Glibc directly (fdatasync, flock, sigaction,
// pipe-based signal handling), so no Apple platform is declared.
let package = Package(
    name: "Chorus",
    products: [
        .executable(name: "chorus", targets: ["chorus"]),
        .library(name: "ChorusModel", targets: ["ChorusModel"]),
        .library(name: "ChorusStorage", targets: ["ChorusStorage"]),
        .library(name: "ChorusChat", targets: ["ChorusChat"]),
        .library(name: "ChorusGateway", targets: ["ChorusGateway"]),
        .library(name: "ChorusWire", targets: ["ChorusWire"]),
        .library(name: "ChorusCluster", targets: ["ChorusCluster"]),
        .library(name: "ChorusBench", targets: ["ChorusBench"]),
        .library(name: "ChorusAuth", targets: ["ChorusAuth"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", exact: "2.28.1"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", exact: "2.8.1"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.34.1"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
    ],
    targets: [
        .target(
            name: "ChorusModel",
            dependencies: ["ChorusWire"]
        ),
        .target(
            name: "ChorusStorage",
            dependencies: [
                "ChorusModel",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "ChorusWire",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(
            name: "ChorusAuth",
            dependencies: [
                "ChorusModel",
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(
            name: "ChorusCluster",
            dependencies: [
                "ChorusModel",
                "ChorusActorSystem",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "ChorusActorSystem",
            dependencies: [
                "ChorusWire",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .target(
            name: "ChorusChat",
            dependencies: [
                "ChorusModel",
                "ChorusStorage",
                "ChorusActorSystem",
                "ChorusCluster",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "ChorusGateway",
            dependencies: [
                "ChorusAuth",
                "ChorusModel",
                "ChorusStorage",
                "ChorusActorSystem",
                "ChorusCluster",
                "ChorusChat",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "CompressNIO", package: "compress-nio"),
            ]
        ),
        .target(
            name: "ChorusBench",
            dependencies: [
                "ChorusAuth",
                "ChorusCluster",
                "ChorusModel",
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .executableTarget(
            name: "chorus",
            dependencies: [
                "ChorusAuth",
                "ChorusBench",
                "ChorusModel",
                "ChorusStorage",
                "ChorusActorSystem",
                "ChorusCluster",
                "ChorusChat",
                "ChorusGateway",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .target(name: "ChorusTestSupport", dependencies: ["ChorusModel"], path: "Tests/ChorusTestSupport"),
        .testTarget(name: "ChorusModelTests", dependencies: ["ChorusModel", "ChorusWire", "ChorusTestSupport"]),
        .testTarget(name: "ChorusStorageTests", dependencies: ["ChorusStorage", "ChorusTestSupport"]),
        .testTarget(name: "ChorusActorSystemTests", dependencies: ["ChorusActorSystem", "ChorusModel", "ChorusTestSupport"]),
        .testTarget(name: "ChorusWireTests", dependencies: ["ChorusWire", "ChorusModel"]),
        .testTarget(name: "ChorusClusterTests", dependencies: ["ChorusCluster", "ChorusActorSystem", "ChorusModel", "ChorusWire", "ChorusTestSupport"]),
        .testTarget(name: "ChorusBenchTests", dependencies: ["ChorusBench"]),
        .testTarget(
            name: "ChorusChatTests",
            dependencies: [
                "ChorusChat", "ChorusModel", "ChorusStorage", "ChorusActorSystem", "ChorusCluster", "ChorusTestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]),
        .testTarget(
            name: "ChorusGatewayTests",
            dependencies: [
                "ChorusGateway",
                "ChorusAuth",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                "ChorusTestSupport",
            ]
        ),
        .testTarget(
            name: "ChorusProcessTests",
            dependencies: [
                "chorus",
                "ChorusBench",
                "ChorusGateway",
                "ChorusCluster",
                "ChorusModel",
                "ChorusStorage",
                "ChorusTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
    ]
)
