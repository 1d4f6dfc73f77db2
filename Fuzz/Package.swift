// swift-tools-version:6.1
import Foundation
import PackageDescription

// libFuzzer targets, in their own package so the main build never compiles them with the fuzzer.
// Build: swift build --package-path Fuzz -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -enable-testing
// Run:   scripts/fuzz.sh <target> [runs]     (docs/testing.md, "Fuzzing")

// A path dependency is named after its directory, which is whatever the clone was called.
let chorus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent.lowercased()

let package = Package(
    name: "ChorusFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
    ],
    targets: [
        .executableTarget(
            name: "chorus-fuzz",
            dependencies: [
                .product(name: "ChorusAuth", package: chorus),
                .product(name: "ChorusModel", package: chorus),
                .product(name: "ChorusStorage", package: chorus),
                .product(name: "ChorusWire", package: chorus),
                .product(name: "ChorusChat", package: chorus),
                .product(name: "ChorusGateway", package: chorus),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            path: "Sources/ChorusFuzz",
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        )
    ]
)
