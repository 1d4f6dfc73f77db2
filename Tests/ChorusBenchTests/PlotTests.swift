@testable import ChorusBench
import Foundation
import Testing

@Suite struct PNGTests {
    /// Decodes with Python's zlib (an independent inflater) and returns the raw scanlines.
    func inflate(_ png: [UInt8]) throws -> [UInt8] {
        var chunks: [String: [UInt8]] = [:]
        var offset = 8
        while offset < png.count {
            let length = Int(png[offset]) << 24 | Int(png[offset + 1]) << 16 | Int(png[offset + 2]) << 8 | Int(png[offset + 3])
            let type = String(decoding: png[(offset + 4)..<(offset + 8)], as: UTF8.self)
            let data = Array(png[(offset + 8)..<(offset + 8 + length)])
            let crc = png[(offset + 8 + length)..<(offset + 12 + length)].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            #expect(crc == PNG.crc32(Array(type.utf8) + data), "CRC of \(type)")
            chunks[type, default: []] += data
            offset += 12 + length
        }
        let input = FileManager.default.temporaryDirectory.appendingPathComponent("idat-\(UUID().uuidString)")
        try Data(try #require(chunks["IDAT"])).write(to: input)
        defer { try? FileManager.default.removeItem(at: input) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import sys, zlib; sys.stdout.buffer.write(zlib.decompress(open(sys.argv[1], 'rb').read()))", input.path]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "python3 zlib refused the stream")
        return Array(data)
    }

    @Test func encodesPixelsExactly() throws {
        var image = PaletteImage(width: 70, height: 40, palette: [(255, 255, 255), (0, 0, 0), (255, 0, 0)])
        var expected: [UInt8] = []
        for y in 0..<40 {
            expected.append(0)
            for x in 0..<70 {
                let value: UInt8 = (x * 7 + y * 3) % 11 == 0 ? 2 : (x > 20 && x < 50 && y > 10) ? 1 : 0
                image[x, y] = value
                expected.append(value)
            }
        }
        let png = image.png()
        #expect(Array(png.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        #expect(try inflate(png) == expected)
    }

    @Test func drawsAPlotOfRuns() throws {
        let runs = [(100.0, 2.0), (200.0, 3.0), (400.0, 40.0)].map { rate, p99 in
            var workload = FanoutWorkload()
            workload.rate = rate
            return FanoutResult(
                target: "chorus", endpoints: [], workload: workload, measuredSeconds: 10, sent: 0, acknowledged: 0, sendErrors: [:],
                backlogSkipped: 0, delivered: Int(rate) * 2000,
                endToEnd: LatencySummary(count: 9, p50: p99 / 4, p90: p99 / 2, p99: p99, p999: p99 * 2, max: p99 * 3, mean: 1),
                sendAck: .empty, delivery: DeliveryCheck(), disconnects: 0, serverCPUSeconds: nil, loadGeneratorCPUSeconds: 1)
        }
        let png = LatencyPlot.render(series: [("chorus", runs)], title: "test")
        let raw = try inflate(png)
        #expect(raw.count == (LatencyPlot.width + 1) * LatencyPlot.height)
        // Every percentile colour was drawn.
        for color in LatencyPlot.percentileColors { #expect(raw.contains(color)) }
        #expect(png.count < 100_000)
    }

    @Test func ticksAreRound() {
        #expect(LatencyPlot.niceTicks(upTo: 95) == [0, 20, 40, 60, 80, 100])
        #expect(LatencyPlot.niceTicks(upTo: 42_000) == [0, 10_000, 20_000, 30_000, 40_000, 50_000])
    }
}
