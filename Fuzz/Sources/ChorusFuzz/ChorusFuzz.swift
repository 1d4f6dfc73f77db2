// libFuzzer entry points. One binary holds every target; CHORUS_FUZZ_TARGET picks one:
//
//   wal     WAL segment bytes: frames, then each frame's journal entry (what recovery reads)
//   wire    cluster transport bytes: length-prefixed frames, then each call's arguments
//   binary  the binary coder of remote calls, straight into the types nodes exchange
//   ws      a v1 WebSocket client text frame
//   http    one HTTP request to a node's router, v1 or Stream API (no 5xx allowed)
//
// A target traps (a finding) on a crash, a sanitizer report, a 5xx or a hang (libFuzzer's
// -timeout); every refusal must be an error the code throws. docs/testing.md, "Fuzzing".

#if canImport(Glibc)
import Glibc
#endif
import Foundation

enum FuzzTarget: String, CaseIterable {
    case wal, wire, binary, ws, http

    static let selected: FuzzTarget = {
        let name = ProcessInfo.processInfo.environment["CHORUS_FUZZ_TARGET"] ?? ""
        guard let target = FuzzTarget(rawValue: name) else {
            let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
            FileHandle.standardError.write(Data("chorus-fuzz: set CHORUS_FUZZ_TARGET to one of: \(names)\n".utf8))
            exit(64)
        }
        return target
    }()

    func run(_ bytes: [UInt8]) {
        switch self {
        case .wal: DecoderTargets.wal(bytes)
        case .wire: DecoderTargets.wire(bytes)
        case .binary: DecoderTargets.binary(bytes)
        case .ws: DecoderTargets.webSocket(bytes)
        case .http: HTTPTarget.shared.run(bytes)
        }
    }
}

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    let target = FuzzTarget.selected
    // CHORUS_FUZZ_SEEDS=<dir> writes the target's seed inputs there (scripts/fuzz.sh does).
    if let directory = ProcessInfo.processInfo.environment["CHORUS_FUZZ_SEEDS"] {
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for (index, seed) in Seeds.inputs(for: target).enumerated() {
            _ = FileManager.default.createFile(atPath: "\(directory)/seed-\(index)", contents: Data(seed))
        }
    }
    if target == .http { _ = HTTPTarget.shared }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    FuzzTarget.selected.run(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}

/// libFuzzer's driver (in its runtime, linked by `-sanitize=fuzzer`).
@_silgen_name("LLVMFuzzerRunDriver")
func runDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
) -> CInt

/// The executable's entry point: SwiftPM links `main` to `<module>_main`, so this hands the
/// arguments to libFuzzer's driver instead of libFuzzer's own `main`.
@_cdecl("chorus_fuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return runDriver(&count, &arguments) { data, size in testOneInput(data, size) }
}
