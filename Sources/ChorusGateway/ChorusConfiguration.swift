import ChorusChat
import ChorusCluster
import ChorusModel
import ChorusStorage
import Foundation
import Yams

/// The settings of one Chorus node, decoded from YAML (`cluster.example.yaml` documents every key).
///
/// Every key is optional; a missing key takes the default written next to it. Secrets never live in
/// the file: they come from environment variables (`CHORUS_JWT_SECRET`, `CHORUS_CDN_SECRET`).
public struct ChorusConfiguration: Sendable, Equatable, Decodable {
    /// Where the node listens and keeps its data.
    public struct Node: Sendable, Equatable, Decodable {
        /// Node name, used in logs (default `chorus-1`).
        public var name = "chorus-1"
        /// Client (HTTP/WebSocket) bind address (default `127.0.0.1`).
        public var host = "127.0.0.1"
        /// Client port; 0 picks a free port (default 8080).
        public var port = 8080
        /// Data directory (default `./chorus-data`).
        public var dataDir = "./chorus-data"

        public init() {}

        enum CodingKeys: String, CodingKey, CaseIterable { case name, host, port, dataDir = "data_dir" }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.configurationSection(CodingKeys.self)
            try c.update(&name, .name)
            try c.update(&host, .host)
            try c.update(&port, .port)
            try c.update(&dataDir, .dataDir)
        }
    }

    /// Limits on what clients may send.
    public struct Limits: Sendable, Equatable, Decodable {
        /// Largest request body in bytes; larger gets 413 `PAYLOAD_TOO_LARGE` (default 1 MiB).
        public var maxBodyBytes = 1 << 20
        /// Longest message body in characters (default 4,000).
        public var maxMessageLength = 4000
        /// Most attachments per message (default 10).
        public var maxAttachments = 10
        /// Requests per second each user may make on average (default 50).
        public var userRequestsPerSecond = 50.0
        /// Requests a user may make in a burst (default 200).
        public var userRequestBurst = 200.0
        /// Most members of one channel (default 10,000).
        public var maxMembersPerChannel = 10_000
        /// Most channels one user may be a member of (default 10,000).
        public var maxChannelsPerUser = 10_000
        /// Seconds an HTTP connection may go without a request in progress, before its first
        /// request or between requests, before the node closes it (default 75: longer than the
        /// 60 s idle timeout of common load balancers, so they close first).
        public var httpIdleTimeoutSeconds = 75.0

        public init() {}

        enum CodingKeys: String, CodingKey, CaseIterable {
            case maxBodyBytes = "max_body_bytes", maxMessageLength = "max_message_length"
            case maxAttachments = "max_attachments", userRequestsPerSecond = "user_requests_per_second"
            case userRequestBurst = "user_request_burst", maxMembersPerChannel = "max_members_per_channel"
            case maxChannelsPerUser = "max_channels_per_user", httpIdleTimeoutSeconds = "http_idle_timeout_seconds"
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.configurationSection(CodingKeys.self)
            try c.update(&maxBodyBytes, .maxBodyBytes)
            try c.update(&maxMessageLength, .maxMessageLength)
            try c.update(&maxAttachments, .maxAttachments)
            try c.update(&userRequestsPerSecond, .userRequestsPerSecond)
            try c.update(&userRequestBurst, .userRequestBurst)
            try c.update(&maxMembersPerChannel, .maxMembersPerChannel)
            try c.update(&maxChannelsPerUser, .maxChannelsPerUser)
            try c.update(&httpIdleTimeoutSeconds, .httpIdleTimeoutSeconds)
        }
    }

    /// Chat behaviour.
    public struct Chat: Sendable, Equatable, Decodable {
        /// How long one typing call keeps a user typing, in seconds (default 5).
        public var typingTTLSeconds = 5.0
        /// Word lists by name, for channel types' `blocklist` (none by default).
        public var blocklists: [String: [String]] = [:]
        /// How often each node removes messages past their channel type's `message_retention`,
        /// in seconds (default 3600).
        public var retentionSweepSeconds = 3600.0
        /// How long a node keeps an ended task (and an export's file), in days (default 7).
        public var taskRetentionDays = 7
        /// How many messages per second each campaign sends at most (default 100), so live chat
        /// keeps its latency while one runs.
        public var campaignMessagesPerSecond = 100
        /// How long a node uses the profile of a user who authenticated there before asking the
        /// user's actor again, in seconds (default 10; 0 asks on every request). A rename made
        /// through another node reaches the `sender_name` of messages sent here within it.
        public var profileCacheSeconds = 10.0

        public init() {}

        enum CodingKeys: String, CodingKey, CaseIterable {
            case typingTTLSeconds = "typing_ttl_seconds", blocklists, retentionSweepSeconds = "retention_sweep_seconds"
            case taskRetentionDays = "task_retention_days", campaignMessagesPerSecond = "campaign_messages_per_second"
            case profileCacheSeconds = "profile_cache_seconds"
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.configurationSection(CodingKeys.self)
            try c.update(&typingTTLSeconds, .typingTTLSeconds)
            try c.update(&blocklists, .blocklists)
            try c.update(&retentionSweepSeconds, .retentionSweepSeconds)
            try c.update(&taskRetentionDays, .taskRetentionDays)
            try c.update(&campaignMessagesPerSecond, .campaignMessagesPerSecond)
            try c.update(&profileCacheSeconds, .profileCacheSeconds)
        }
    }

    /// Signed attachment URLs.
    public struct CDN: Sendable, Equatable, Decodable {
        /// Base of attachment URLs (default `https://cdn.chorus.invalid`).
        public var baseURL = "https://cdn.chorus.invalid"
        /// How long a signed URL stays valid, in seconds (default 3600).
        public var urlTTLSeconds = 3600

        public init() {}

        enum CodingKeys: String, CodingKey, CaseIterable { case baseURL = "base_url", urlTTLSeconds = "url_ttl_seconds" }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.configurationSection(CodingKeys.self)
            try c.update(&baseURL, .baseURL)
            try c.update(&urlTTLSeconds, .urlTTLSeconds)
        }
    }

    /// The Stream-compatible API (docs/stream-api.md). Its tokens are signed with the node's
    /// `CHORUS_JWT_SECRET` (the API secret), so one user token works on both facades.
    public struct Stream: Sendable, Equatable, Decodable {
        /// The `api_key` every request must carry (default `chorus`).
        public var apiKey = "chorus"

        public init() {}

        enum CodingKeys: String, CodingKey, CaseIterable { case apiKey = "api_key" }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.configurationSection(CodingKeys.self)
            try c.update(&apiKey, .apiKey)
        }
    }

    /// Durability.
    public struct Storage: Sendable, Equatable, Decodable {
        /// When WAL writes reach the disk: `always`, `interval:<ms>` or `none` (default `always`).
        public var fsync = "always"
        /// WAL segment size in bytes (default 64 MiB).
        public var segmentBytes = 64 << 20
        /// Seconds between checkpoints while changes are logged (default 60).
        public var checkpointIntervalSeconds = 60.0
        /// Newest messages a channel keeps in memory after a checkpoint; older ones are read from the store (default 200).
        public var recentMessagesInMemory = 200
        /// Seconds a channel must be idle (and fully stored) before its actor is evicted from memory (default 300).
        public var passivateIdleSeconds = 300.0

        public init() {}

        enum CodingKeys: String, CodingKey, CaseIterable {
            case fsync, segmentBytes = "segment_bytes", checkpointIntervalSeconds = "checkpoint_interval_seconds"
            case recentMessagesInMemory = "recent_messages_in_memory", passivateIdleSeconds = "passivate_idle_seconds"
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.configurationSection(CodingKeys.self)
            try c.update(&fsync, .fsync)
            try c.update(&segmentBytes, .segmentBytes)
            try c.update(&checkpointIntervalSeconds, .checkpointIntervalSeconds)
            try c.update(&recentMessagesInMemory, .recentMessagesInMemory)
            try c.update(&passivateIdleSeconds, .passivateIdleSeconds)
        }
    }

    public var node = Node()
    public var limits = Limits()
    public var chat = Chat()
    public var cdn = CDN()
    public var stream = Stream()
    public var storage = Storage()
    public var realtime = Realtime()
    public var cluster = ClusterConfiguration()
    /// The cluster section (``ClusterConfiguration``, owned by ChorusCluster).
    public typealias Cluster = ClusterConfiguration

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable { case node, limits, chat, cdn, stream, storage, realtime, cluster }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.configurationSection(CodingKeys.self)
        try c.update(&storage, .storage)
        try c.update(&node, .node)
        try c.update(&limits, .limits)
        try c.update(&chat, .chat)
        try c.update(&cdn, .cdn)
        try c.update(&stream, .stream)
        try c.update(&realtime, .realtime)
        try c.update(&cluster, .cluster)
    }

    /// A configuration error, naming the file, line and key.
    public struct Error: Swift.Error, CustomStringConvertible {
        public var description: String
        /// The file does not exist (rather than being wrong).
        public var isMissingFile = false
    }

    /// Decodes YAML text; `source` names the file in errors.
    public static func decode(yaml: String, source: String) throws -> ChorusConfiguration {
        var configuration = ChorusConfiguration()
        var document: Yams.Node?
        do {
            // A file with only comments is an empty document: all defaults.
            document = try Yams.compose(yaml: yaml)
            if document != nil {
                configuration = try YAMLDecoder().decode(ChorusConfiguration.self, from: yaml)
            }
        } catch let error as DecodingError {
            let line = Self.line(of: codingPathKeys(of: error), in: document).map { ":\($0)" } ?? ""
            throw Error(description: "\(source)\(line): \(describe(error))")
        } catch {
            throw Error(description: "\(source): \(error)")
        }
        try configuration.validate(source: source, document: document)
        return configuration
    }

    /// Reads and decodes the YAML file at `path`.
    public static func load(path: String) throws -> ChorusConfiguration {
        guard FileManager.default.fileExists(atPath: path) else {
            throw Error(description: "\(path): no such configuration file", isMissingFile: true)
        }
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw Error(description: "\(path): cannot read the file (\(error.localizedDescription))")
        }
        return try decode(yaml: text, source: path)
    }

    /// Checks value ranges that decoding alone does not.
    public func validate(source: String) throws {
        try validate(source: source, document: nil)
    }

    /// Checks value ranges; errors name the line of the key in `document` when it is there.
    func validate(source: String, document: Yams.Node?) throws {
        func check(_ ok: Bool, _ key: String, _ rule: String) throws {
            guard !ok else { return }
            let line = Self.line(of: Self.keyPath(key), in: document).map { ":\($0)" } ?? ""
            throw Error(description: "\(source)\(line): \(key) \(rule)")
        }
        try check((0...65535).contains(node.port), "node.port", "must be 0-65535")
        try check(limits.maxBodyBytes >= 1024, "limits.max_body_bytes", "must be at least 1024")
        try check(limits.maxMessageLength >= 1, "limits.max_message_length", "must be at least 1")
        try check(limits.maxAttachments >= 0, "limits.max_attachments", "must not be negative")
        try check(limits.userRequestsPerSecond > 0, "limits.user_requests_per_second", "must be positive")
        try check(limits.userRequestBurst >= 1, "limits.user_request_burst", "must be at least 1")
        try check((0.001...86400).contains(limits.httpIdleTimeoutSeconds), "limits.http_idle_timeout_seconds", "must be 0.001-86400")
        try check(chat.typingTTLSeconds > 0, "chat.typing_ttl_seconds", "must be positive")
        try check(chat.retentionSweepSeconds >= 1, "chat.retention_sweep_seconds", "must be at least 1")
        try check((1...1_000_000).contains(limits.maxMembersPerChannel), "limits.max_members_per_channel", "must be 1-1000000")
        try check((1...1_000_000).contains(limits.maxChannelsPerUser), "limits.max_channels_per_user", "must be 1-1000000")
        try check((1...3650).contains(chat.taskRetentionDays), "chat.task_retention_days", "must be 1-3650")
        try check((1...100_000).contains(chat.campaignMessagesPerSecond), "chat.campaign_messages_per_second", "must be 1-100000")
        try check((0...3600).contains(chat.profileCacheSeconds), "chat.profile_cache_seconds", "must be 0-3600")
        try check(cdn.urlTTLSeconds > 0, "cdn.url_ttl_seconds", "must be positive")
        try check(!stream.apiKey.isEmpty && stream.apiKey.utf8.count <= 128, "stream.api_key", "must be 1-128 characters")
        try check(URL(string: cdn.baseURL)?.scheme != nil, "cdn.base_url", "must be an absolute URL")
        try check(FsyncPolicy(storage.fsync) != nil, "storage.fsync", "must be always, none or interval:<milliseconds>")
        try check(storage.segmentBytes >= 4096, "storage.segment_bytes", "must be at least 4096")
        try check(storage.checkpointIntervalSeconds > 0, "storage.checkpoint_interval_seconds", "must be positive")
        try check(storage.recentMessagesInMemory >= 1, "storage.recent_messages_in_memory", "must be at least 1")
        try check(storage.passivateIdleSeconds > 0, "storage.passivate_idle_seconds", "must be positive")
        try realtime.validate(check: check)
        try cluster.validate(check: check)
    }

    /// The storage settings (`node.data_dir` plus `storage.*`).
    public var storageConfiguration: NodeStorage.Configuration {
        NodeStorage.Configuration(
            dataDirectory: node.dataDir, fsync: FsyncPolicy(storage.fsync) ?? .always, segmentBytes: storage.segmentBytes,
            checkpointInterval: .milliseconds(Int64((storage.checkpointIntervalSeconds * 1000).rounded())),
            passivateAfter: .milliseconds(Int64((storage.passivateIdleSeconds * 1000).rounded())))
    }

    /// The chat layer's settings.
    public var chatNodeConfiguration: ChatNode.Configuration {
        var configuration = ChatNode.Configuration(
            limits: {
                var chat = ChatLimits(maxMessageLength: limits.maxMessageLength, maxAttachments: limits.maxAttachments)
                chat.maxMembersPerChannel = limits.maxMembersPerChannel
                chat.maxChannelsPerUser = limits.maxChannelsPerUser
                return chat
            }(),
            typingTTL: chat.typingTTLSeconds.secondsDuration,
            messageWindow: storage.recentMessagesInMemory,
            eventLogCapacity: realtime.replayEvents)
        configuration.movingRetryDeadline = .milliseconds(cluster.callTimeoutMs)
        configuration.replicationFactor = cluster.effectiveReplicationFactor
        configuration.blocklists = chat.blocklists
        configuration.campaignMessagesPerSecond = chat.campaignMessagesPerSecond
        configuration.profileCacheTTL = chat.profileCacheSeconds.secondsDuration
        return configuration
    }
}
