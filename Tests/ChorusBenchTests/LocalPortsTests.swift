@testable import ChorusBench
import Foundation
import Testing

@Suite("Local ports")
struct LocalPortsTests {
    @Test("ports are distinct, below the ephemeral range, and free")
    func distinctBelowEphemeralAndFree() throws {
        let ports = try LocalPorts.free(8)
        #expect(Set(ports).count == 8)
        let (low, high) = LocalPorts.candidateRange()
        #expect(high > low, "this machine's ephemeral range leaves room below it")
        for port in ports {
            #expect((low..<high).contains(port))
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(fd) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = UInt16(port).bigEndian
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
            }
            #expect(bound, "port \(port) can be bound")
        }
    }
}
