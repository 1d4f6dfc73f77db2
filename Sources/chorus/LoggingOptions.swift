import ArgumentParser
import ChorusGateway
import Logging

/// `--log-level` and `--log-format`, shared by the commands that run nodes.
struct LoggingOptions: ParsableArguments {
    enum Format: String, ExpressibleByArgument, CaseIterable {
        /// `2026-11-30T18:00:00+0000 info chorus: key=value [module] message`
        case text
        /// One JSON object per line (see docs/operations.md, "Logging").
        case json
    }

    @Option(help: "Least severe level logged (debug adds a line per HTTP request).")
    var logLevel: Logger.Level = .info

    @Option(help: "Log lines as text, or as JSON objects (one per line).")
    var logFormat: Format = .text

    /// The arguments that give a child `chorus` process the same logging.
    var arguments: [String] { ["--log-level", logLevel.rawValue, "--log-format", logFormat.rawValue] }

    /// Routes every logger of this process to standard error in the chosen level and format.
    func bootstrap() {
        let (level, format) = (logLevel, logFormat)
        LoggingSystem.bootstrap { label in
            switch format {
            case .text:
                var handler = DeferredMetadataLogHandler(StreamLogHandler.standardError(label: label))
                handler.logLevel = level
                return handler
            case .json:
                var handler = JSONLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
        }
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
