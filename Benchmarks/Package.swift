// swift-tools-version:6.1
import PackageDescription

// Benchmarks live in their own package so the main build and CI never compile them.
// Run: cd Benchmarks && swift run -c release chorus-benchmarks
let package = Package(
    name: "ChorusBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: ".."),
    ],
    targets: [
        .executableTarget(
            name: "chorus-benchmarks",
            dependencies: [
                .product(name: "ChorusModel", package: "main"),
                .product(name: "ChorusStorage", package: "main"),
                .product(name: "ChorusChat", package: "main"),
                .product(name: "ChorusGateway", package: "main"),
                .product(name: "ChorusCluster", package: "main"),
            ],
            path: "Sources/ChorusBenchmarks"
        ),
    ]
)
