// swift-tools-version:6.1
import Foundation
import PackageDescription

// Benchmarks live in their own package so the main build and CI never compile them.
// Run: cd Benchmarks && swift run -c release chorus-benchmarks
//      cd Benchmarks && swift package --disable-sandbox benchmark --target ChorusMicro

// A path dependency is named after its directory, which is whatever the clone was called.
let chorus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent.lowercased()

let package = Package(
    name: "ChorusBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    ],
    targets: [
        .executableTarget(
            name: "chorus-benchmarks",
            dependencies: [
                .product(name: "ChorusAuth", package: chorus),
                .product(name: "ChorusModel", package: chorus),
                .product(name: "ChorusStorage", package: chorus),
                .product(name: "ChorusChat", package: chorus),
                .product(name: "ChorusGateway", package: chorus),
                .product(name: "ChorusCluster", package: chorus),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Sources/ChorusBenchmarks"
        ),
        .executableTarget(
            name: "ChorusMicro",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "ChorusAuth", package: chorus),
                .product(name: "ChorusChat", package: chorus),
                .product(name: "ChorusModel", package: chorus),
                .product(name: "ChorusStorage", package: chorus),
                .product(name: "ChorusGateway", package: chorus),
                .product(name: "ChorusCluster", package: chorus),
                .product(name: "ChorusWire", package: chorus),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            path: "Benchmarks/ChorusMicro",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
