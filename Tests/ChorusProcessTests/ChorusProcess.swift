import ChorusBench
import Crypto
import Foundation

/// An HS256 token for `payload`, signed independently of the server's code.
func signedToken(payload: String, secret: String) -> String {
    func base64URL(_ data: some DataProtocol) -> String {
        Data(data).base64EncodedString().replacingOccurrences(of: "=", with: "")
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
    }
    let input = base64URL(Data(#"{"alg":"HS256","typ":"JWT"}"#.utf8)) + "." + base64URL(Data(payload.utf8))
    let mac = HMAC<SHA256>.authenticationCode(for: Data(input.utf8), using: SymmetricKey(data: Data(secret.utf8)))
    return input + "." + base64URL(Data(mac))
}

/// Writes `<directory>/cluster.yaml` for a cluster of `names` on free 127.0.0.1 ports, each
/// node's data in `<directory>/<name>`, `fsync: none`. `clusterSettings` are more lines of the
/// `cluster` section ("key: value"); `extra` is more YAML at the top level. Returns the file's
/// path and each node's client port, in the order of `names`.
func writeClusterConfig(
    names: [String], in directory: String, clusterName: String, clusterSettings: [String] = [], extra: String = ""
) throws -> (path: String, clientPorts: [Int]) {
    let ports = try LocalPorts.free(2 * names.count)
    var yaml = "cluster:\n  name: \(clusterName)\n" + clusterSettings.map { "  \($0)\n" }.joined() + "  nodes:\n"
    for (index, name) in names.enumerated() {
        yaml += "    - name: \(name)\n      cluster_address: 127.0.0.1:\(ports[index])\n"
            + "      client_address: 127.0.0.1:\(ports[names.count + index])\n      data_dir: \(directory)/\(name)\n"
    }
    yaml += "storage:\n  fsync: none\n" + extra
    let path = directory + "/cluster.yaml"
    try yaml.write(toFile: path, atomically: true, encoding: .utf8)
    return (path, Array(ports[names.count...]))
}

/// Finds the `chorus` binary that `swift build` put next to this test bundle.
enum ChorusBinary {
    static var url: URL? {
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent(),
            Bundle.main.bundleURL,
            Bundle.main.bundleURL.deletingLastPathComponent(),
        ]
        return candidates.map { $0.appendingPathComponent("chorus") }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }
}

struct ProcessFailure: Error, CustomStringConvertible {
    var description: String
}

/// What a child process writes to one of its outputs, kept in a temporary file that is read
/// whenever the test looks (and removed with this object).
///
/// Not a pipe with a `readabilityHandler`, a dispatch source around which libdispatch crashed the
/// test process in CI (docs/testing.md). A file also holds everything once the child exits, so
/// nothing waits for a pipe to drain.
final class CapturedOutput: Sendable {
    private let path = NSTemporaryDirectory() + "chorus-output-\(UUID().uuidString).log"
    /// The file's handle for the child (give it as `standardOutput` or `standardError`).
    let handle: FileHandle

    init() throws {
        guard FileManager.default.createFile(atPath: path, contents: nil), let handle = FileHandle(forWritingAtPath: path) else {
            throw ProcessFailure(description: "cannot create \(path)")
        }
        self.handle = handle
    }

    /// Everything written so far.
    var text: String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

    deinit {
        try? handle.close()
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// A child `chorus` process with captured output. Always terminated by the test that made it.
final class ChorusProcess: Sendable {
    private let process: Process
    private let captured: (stdout: CapturedOutput, stderr: CapturedOutput)

    /// Starts `chorus arguments…` with `environment` added to a minimal environment.
    init(_ arguments: [String], environment: [String: String] = [:]) throws {
        guard let binary = ChorusBinary.url else {
            throw ProcessFailure(description: "the chorus binary was not found next to the test bundle; run `swift build` first")
        }
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        var env = ["PATH": "/usr/bin:/bin", "HOME": NSTemporaryDirectory()]
        env.merge(environment) { $1 }
        // A node stops itself once this test process is gone, even when it was killed (no orphans
        // left running after an interrupted `swift test`).
        process.environment = ParentWatch.environment(env)
        captured = (try CapturedOutput(), try CapturedOutput())
        process.standardOutput = captured.stdout.handle
        process.standardError = captured.stderr.handle
        process.standardInput = FileHandle.nullDevice
        self.process = process
        try process.run()
    }

    var stdout: String { captured.stdout.text }
    var stderr: String { captured.stderr.text }
    var isRunning: Bool { process.isRunning }
    var processIdentifier: Int32 { process.processIdentifier }

    /// Waits (polling, at most `timeout`) until `predicate` holds for the output so far.
    func waitFor(_ what: String, timeout: Duration = .seconds(30), _ predicate: (String, String) -> Bool) async throws {
        // The output is looked at once more after the deadline: a test task that was not scheduled
        // for a while (a busy machine) must not time out on output that has arrived.
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while true {
            let expired = ContinuousClock.now >= deadline
            let (out, err) = (stdout, stderr)
            if predicate(out, err) { return }
            if !process.isRunning {
                let (out, err) = (stdout, stderr)
                if predicate(out, err) { return }
                throw ProcessFailure(description: "chorus exited (\(process.terminationStatus)) before \(what)\nstdout: \(out)\nstderr: \(err)")
            }
            if expired { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw ProcessFailure(description: "timed out waiting for \(what)\nstdout: \(stdout)\nstderr: \(stderr)")
    }

    /// The port from the `chorus listening on http://host:port` line.
    func listeningPort() async throws -> Int {
        try await waitFor("the listening line") { out, _ in out.contains("chorus listening on") }
        guard let line = stdout.split(separator: "\n").first(where: { $0.contains("chorus listening on") }),
            let port = line.split(separator: ":").last.flatMap({ Int($0) })
        else { throw ProcessFailure(description: "no port in: \(stdout)") }
        return port
    }

    /// Sends `signal` and waits (at most `timeout`) for the exit status.
    func stop(signal: Int32 = SIGTERM, timeout: Duration = .seconds(20)) async throws -> Int32 {
        if process.isRunning { kill(process.processIdentifier, signal) }
        return try await waitForExit(timeout: timeout)
    }

    /// Waits (at most `timeout`) for the process to exit; kills it if it does not.
    func waitForExit(timeout: Duration = .seconds(20)) async throws -> Int32 {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while process.isRunning && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw ProcessFailure(description: "chorus did not exit within \(timeout); killed")
        }
        return process.terminationStatus
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    /// Runs `chorus arguments…` to completion; returns (status, stdout, stderr).
    static func run(_ arguments: [String], environment: [String: String] = [:]) async throws -> (Int32, String, String) {
        let child = try ChorusProcess(arguments, environment: environment)
        let status = try await child.waitForExit()
        return (status, child.stdout, child.stderr)
    }
}

/// Runs a tool other than `chorus` (`/usr/bin/env ARGUMENTS…`: bash, python3) to completion,
/// for at most `timeout` (then it is terminated); returns its status and its standard output and
/// error together.
///
/// The output goes to a temporary file (``CapturedOutput``), read once the tool has exited.
func runTool(
    _ arguments: [String], environment: [String: String]? = nil, directory: URL? = nil, timeout: Duration
) async throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    if let environment { process.environment = environment }
    if let directory { process.currentDirectoryURL = directory }
    let output = try CapturedOutput()
    process.standardOutput = output.handle
    process.standardError = output.handle
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let deadline = ContinuousClock.now + timeout
    while process.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
    if process.isRunning { process.terminate() }
    process.waitUntilExit()
    return (process.terminationStatus, output.text)
}
