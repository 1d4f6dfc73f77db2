import Foundation

/// Free TCP ports on 127.0.0.1 for nodes that must know each other's addresses before they start.
///
/// A port that was free when checked can be taken before the node binds it. Ports from the kernel's
/// ephemeral range are the ones most likely to be taken: every outgoing connection and every listener
/// on port 0 (the tests run many of both in parallel) draws from that range. So the ports come from
/// below it, at random, each checked by binding it; only when the range leaves no room below does
/// the kernel choose.
public enum LocalPorts {
    /// `count` distinct ports that were free a moment ago.
    public static func free(_ count: Int) throws -> [Int] {
        let (low, high) = candidateRange()
        var ports: [Int] = []
        var attempts = 0
        while ports.count < count {
            attempts += 1
            guard attempts <= 1_000 else { throw BenchError("cannot find \(count) free ports on 127.0.0.1") }
            let wanted = high > low ? Int.random(in: low..<high) : 0
            if let port = try bindable(wanted), !ports.contains(port) { ports.append(port) }
        }
        return ports
    }

    /// Ports below the ephemeral range (Linux: `ip_local_port_range`), or an empty range where it starts
    /// too low to leave room.
    static func candidateRange() -> (Int, Int) {
        let text = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8)) ?? "32768 60999"
        let ephemeralLow = text.split(whereSeparator: \.isWhitespace).first.flatMap { Int($0) } ?? 32768
        return ephemeralLow > 12_000 ? (10_000, ephemeralLow) : (0, 0)
    }

    /// The port `wanted` (0: any) if it can be bound on 127.0.0.1 now, nil if it is in use.
    private static func bindable(_ wanted: Int) throws -> Int? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw BenchError("cannot open a socket to find a free port") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(wanted).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        return bound ? Int(UInt16(bigEndian: address.sin_port)) : nil
    }
}
