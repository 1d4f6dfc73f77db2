import ArgumentParser
import ChorusStorage
import Foundation

/// `chorus wal`: inspect a node's write-ahead log.
struct WALCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wal", abstract: "Inspect a node's write-ahead log.", subcommands: [Verify.self])

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check every WAL segment and checkpoint of a data directory; changes nothing.",
            discussion: """
                Exit status 0: the log is clean, or ends in a torn tail that the next start will truncate. \
                Exit status 1: corruption in the middle of the log (or missing segments); the node will refuse \
                to start (see docs/operations.md for what to do next). Exit status 66: there is no data directory there.
                """)

        @Option(name: .customLong("data-dir"), help: "The node's data directory.")
        var dataDir: String = "./chorus-data"

        func run() throws {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: dataDir, isDirectory: &isDirectory) else {
                throw CLIFailure(.noInput, "no data directory at \(dataDir); pass the node's --data-dir")
            }
            guard isDirectory.boolValue else { throw CLIFailure(.noInput, "\(dataDir) is a file, not a data directory") }
            let walDirectory = dataDir + "/wal"
            let storePath = dataDir + "/store.sqlite"
            guard FileManager.default.fileExists(atPath: walDirectory) || FileManager.default.fileExists(atPath: storePath) else {
                throw CLIFailure(.noInput, "\(dataDir) holds no Chorus data (no wal/ and no store.sqlite); pass the node's --data-dir")
            }
            print("data directory: \(dataDir)")
            if let holder = DataDirectoryLock.holder(of: dataDir) {
                print("in use by: \(holder) (its newest records may still be on their way to the disk)")
            }
            if FileManager.default.fileExists(atPath: storePath) {
                print("store: \(storePath), last checkpoint covers LSN < \(try HistoryStore(path: storePath).coveredLSN())")
            } else {
                print("store: none yet (no checkpoint written)")
            }
            do {
                // Every record is decoded, as recovery will: a frame with a good checksum but a
                // record this build cannot read stops the node just the same.
                let report = try WALSegments.scan(walDirectory) { _, frame in _ = try JournalEntry(frame: frame) }
                for segment in report.segments {
                    let status = segment.tailProblem.map { "TORN TAIL at offset \(segment.validBytes): \($0) (\(segment.fileBytes - segment.validBytes) bytes will be truncated)" } ?? "ok"
                    let ahead = segment.preallocatedBytes > 0 ? " (\(segment.preallocatedBytes) of them zeros allocated ahead)" : ""
                    print("\(segment.path): first LSN \(segment.firstLSN), \(segment.records) records, \(segment.fileBytes) bytes\(ahead): \(status)")
                }
                print("records: \(report.records); next LSN: \(report.nextLSN)")
                print(report.tornTail == nil ? "status: clean" : "status: torn tail (recoverable: the next start truncates it)")
            } catch let error as WALError {
                print("status: CORRUPT: \(error)")
                print("The node will not start on this directory. See docs/operations.md, \"Checking and repairing a data directory\".")
                throw ExitCode(1)
            }
        }
    }
}
