import ArgumentParser
import ChorusGateway
import ChorusStorage
import Foundation
import NIOCore

/// A failure the `chorus` command reports as one line on standard error, with an exit status
/// scripts can tell apart (the table is in docs/operations.md, "Exit status").
struct CLIFailure: Error, CustomStringConvertible {
    /// `sysexits.h` values, so the statuses mean what they mean elsewhere.
    enum Status: Int32 {
        /// Bad command-line arguments.
        case usage = 64
        /// A file or directory given on the command line does not exist.
        case noInput = 66
        /// An address to listen on is taken or not available.
        case unavailable = 69
        /// The data directory is in use by another process, or cannot be created or locked.
        case cannotCreate = 73
        /// The configuration file is wrong.
        case config = 78
    }

    var status: Status
    var message: String

    init(_ status: Status, _ message: String) {
        self.status = status
        self.message = message
    }

    var description: String { message }

    /// The failure a known error stands for; `nil` for errors without a better report than their own.
    init?(classifying error: any Error) {
        switch error {
        case let failure as CLIFailure:
            self = failure
        case let error as ChorusConfiguration.Error:
            self.init(error.isMissingFile ? .noInput : .config, error.description)
        case let error as DataDirectoryLock.Failure:
            self.init(.cannotCreate, error.description)
        default:
            return nil
        }
    }

    /// Rewrites a failed bind into "cannot listen on HOST:PORT for WHAT: reason"; other errors pass.
    static func listening(on address: String, for what: String, _ error: any Error) -> any Error {
        guard let error = error as? IOError, String(describing: error).hasPrefix("bind(") else { return error }
        let reason = String(cString: strerror(error.errnoCode))
        let hint =
            switch error.errnoCode {
            case EADDRINUSE: "; another process (perhaps another chorus) uses it: stop it or choose another port"
            case EACCES: "; ports below 1024 need privileges: choose a higher port"
            case EADDRNOTAVAIL: "; the host is not an address of this machine"
            default: ""
            }
        return CLIFailure(.unavailable, "cannot listen on \(address) for \(what): \(reason.lowercased())\(hint)")
    }
}
