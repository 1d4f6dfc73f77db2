// chorus-benchmarks [actors|wal|recovery|passivation|remote|coder|all] (recovery binary: the binary record format only)
let which = CommandLine.arguments.dropFirst().first ?? "all"
if which == "actors" || which == "all" { try await actorBenchmarks() }
if which == "wal" || which == "all" { try await walBenchmarks() }
if which == "recovery" || which == "all" { try await recoveryBenchmark(binaryOnly: CommandLine.arguments.dropFirst(2).first == "binary") }
if which == "passivation" || which == "all" { try await passivationBenchmark() }
if which == "remote" || which == "all" {
    try await remoteCallBenchmarks()
    try await edgeSendBenchmarks()
}
if which == "coder" || which == "all" { try await coderBenchmarks() }
