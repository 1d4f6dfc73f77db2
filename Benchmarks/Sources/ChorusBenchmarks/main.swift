// chorus-benchmarks [actors|wal|recovery|passivation|remote|calls|coder|store|all] (recovery binary: the binary record format only;
// calls: only 1,000,000 concurrent remote calls, to profile them; CALLERS=N callers, 64 by default)
// chorus-benchmarks http-peer loop|task|hummingbird PORT: a reference HTTP server (HTTPPeers.swift)
let which = CommandLine.arguments.dropFirst().first ?? "all"
if which == "actors" || which == "all" { try await actorBenchmarks() }
if which == "wal" || which == "all" { try await walBenchmarks() }
if which == "recovery" || which == "all" { try await recoveryBenchmark(binaryOnly: CommandLine.arguments.dropFirst(2).first == "binary") }
if which == "passivation" || which == "all" { try await passivationBenchmark() }
if which == "remote" || which == "all" {
    try await remoteCallBenchmarks()
    try await edgeSendBenchmarks()
}
if which == "http-peer" {
    let arguments = Array(CommandLine.arguments.dropFirst(2))
    try await httpPeer(arguments.first ?? "", port: arguments.dropFirst().first.flatMap(Int.init) ?? 0)
}
if which == "calls" { try await remoteCallBenchmarks(concurrentOnly: true) }
if which == "coder" || which == "all" { try await coderBenchmarks() }
if which == "store" || which == "all" {
    try await storeBenchmarks()
    try await snapshotBenchmarks()
}
