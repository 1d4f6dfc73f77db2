import Foundation
import Testing

/// The README and docs/ must match the binary: every `chorus …` command they show exists and
/// takes the flags they give it, and the README's "Try it" session runs as written.
@Suite("docs match the binary", .serialized)
struct DocsCommandTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// README.md and every page of docs/.
    static func pages() throws -> [(name: String, text: String)] {
        let docs = root.appendingPathComponent("docs")
        let names = try FileManager.default.contentsOfDirectory(atPath: docs.path).filter { $0.hasSuffix(".md") }.sorted()
        return try [("README.md", String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8))]
            + names.map { ("docs/" + $0, try String(contentsOf: docs.appendingPathComponent($0), encoding: .utf8)) }
    }

    /// The code of a page: lines of fenced blocks and inline `code` spans.
    static func codeSnippets(_ text: String) -> [String] {
        var snippets: [String] = []
        var fenced = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.trimmingCharacters(in: .whitespaces).hasPrefix("```") {
                fenced.toggle()
                continue
            }
            if fenced {
                snippets.append(String(line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""))
            } else {
                let spans = line.split(separator: "`", omittingEmptySubsequences: false)
                snippets += stride(from: 1, to: spans.count, by: 2).map { String(spans[$0]) }
            }
        }
        return snippets
    }

    /// A `chorus` command found in a snippet: its subcommand path and the flags it uses.
    struct Command: Hashable, CustomStringConvertible {
        var path: [String]
        var flags: [String]
        var description: String { (["chorus"] + path + flags).joined(separator: " ") }
    }

    static func commands(in snippet: String) -> [Command] {
        let words = snippet.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "(" || $0 == ")" }).map(String.init)
        var found: [Command] = []
        for (index, word) in words.enumerated() where word == "chorus" || word.hasSuffix("/chorus") {
            var path: [String] = []
            var flags: [String] = []
            for next in words[(index + 1)...] {
                if next == "|" || next == "&" || next == "&&" || next == ";" { break }
                if next.hasPrefix("--") {
                    flags.append(String(next.prefix { $0 != "=" }))
                } else if flags.isEmpty, next.allSatisfy({ $0.isLowercase || $0 == "-" }), !next.hasPrefix("-") {
                    path.append(next)
                }
            }
            guard let first = path.first, first != "listening" else { continue }
            found.append(Command(path: path, flags: flags))
        }
        return found
    }

    @Test("every `chorus …` command in README.md and docs/ exists and takes the flags shown")
    func commandsParse() async throws {
        var commands: [String: Set<Command>] = [:]
        for page in try Self.pages() {
            for snippet in Self.codeSnippets(page.text) {
                for command in Self.commands(in: snippet) { commands[page.name, default: []].insert(command) }
            }
        }
        #expect(commands.values.reduce(0) { $0 + $1.count } >= 10, "the scan found too few commands: \(commands)")
        var help: [[String]: String] = [:]
        for (page, found) in commands.sorted(by: { $0.key < $1.key }) {
            for command in found.sorted(by: { $0.description < $1.description }) {
                // Words after the subcommands are arguments (`chorus token --user alice`): find the
                // longest prefix of the path that is a command.
                var path = command.path
                var text: String?
                while text == nil, !path.isEmpty {
                    if let known = help[path] {
                        text = known
                    } else {
                        let (status, out, _) = try await ChorusProcess.run(path + ["--help"])
                        if status == 0, !out.contains("Usage: chorus <subcommand>") || path.isEmpty {
                            help[path] = out
                            text = out
                        } else {
                            path.removeLast()
                        }
                    }
                }
                guard let text else {
                    Issue.record("\(page): `\(command)` is not a chorus command")
                    continue
                }
                for flag in command.flags where flag != "--help" {
                    #expect(text.contains(flag), "\(page): `\(command)`: chorus \(path.joined(separator: " ")) has no \(flag)")
                }
            }
        }
    }

    @Test("the README's Try-it session runs as written against a node")
    func readmeSession() async throws {
        let readme = try #require(try Self.pages().first { $0.name == "README.md" }?.text)
        let blocks = readme.components(separatedBy: "```sh\n").dropFirst().map { $0.components(separatedBy: "```")[0] }
        let v1Session = try #require(blocks.first { $0.contains("call()") }, "no block defines call()")
        // The Stream API session continues the v1 one (it reuses its tokens and group).
        let streamSession = try #require(blocks.first { $0.contains("scall()") }, "no block defines scall()")
        let session = v1Session + streamSession
        let directory = NSTemporaryDirectory() + "chorus-readme-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let node = try ChorusProcess(["serve", "--port", "0", "--data-dir", directory], environment: ["CHORUS_JWT_SECRET": "change-me"])
        let port = try await node.listeningPort()
        #expect(session.contains("127.0.0.1:8080"))
        let script = "set -eo pipefail\n" + session.replacingOccurrences(of: "127.0.0.1:8080", with: "127.0.0.1:\(port)")
        let binaries = try #require(ChorusBinary.url).deletingLastPathComponent().path

        let environment = [
            "PATH": binaries + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"), "CHORUS_JWT_SECRET": "change-me",
            "HOME": NSTemporaryDirectory(),
        ]
        let (status, text) = try await runTool(["bash", "-c", script], environment: environment, directory: Self.root, timeout: .seconds(60))
        #expect(status == 0, "\(text)")
        #expect(text.contains(#""body":"Hello everyone!""#), "\(text)")
        #expect(text.contains(#""emote_asset_id":"999888777""#), "\(text)")
        #expect(text.contains(#""text":"hi from the Stream API""#), "\(text)")
        #expect(text.contains(#""color":"red""#), "\(text)")
        #expect(text.contains(#""cid":"group:"#) && text.contains(#""text":"Hello everyone!""#), "\(text)")
        #expect(try await node.stop() == 0)
    }
}
