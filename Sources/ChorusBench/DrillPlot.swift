import Foundation

extension Drill {
    /// Draws a drill's timeline: acknowledged sends per 100 ms above, the p99 send latency per 100 ms
    /// (log scale) below, on one time axis. Each fault is a shaded band from the moment it was injected
    /// to the node's rejoin, with a line and a label at its start. Uses ``LatencyPlot``'s drawing
    /// primitives and 5×7 font (upper case, digits, a little punctuation).
    public enum Plot {
        static let width = 1000
        static let height = 660
        static let left = 90, right = 30, top = 50, gap = 60, bottom = 60

        // Palette indices.
        static let white: UInt8 = 0, black: UInt8 = 1, grid: UInt8 = 2, axis: UInt8 = 3
        static let ackColor: UInt8 = 4, latencyColor: UInt8 = 5, band: UInt8 = 6, faultColor: UInt8 = 7

        /// The PNG of a timeline and its faults.
        public static func render(timeline: [TimelineBucket], faults: [FaultMark], title: String) -> [UInt8] {
            var image = PaletteImage(width: width, height: height, palette: [
                (255, 255, 255), (20, 20, 20), (225, 225, 225), (120, 120, 120),
                (31, 119, 180), (255, 127, 14), (252, 224, 224), (214, 39, 40),
            ])
            let bucketWidth = timeline.count > 1 ? timeline[1].startS - timeline[0].startS : 0.1
            let end = max((timeline.last?.startS ?? 0) + bucketWidth, faults.compactMap(\.endS).max() ?? 0, 1)
            let xTicks = LatencyPlot.niceTicks(upTo: end)
            let xMax = xTicks.last ?? end
            let plotWidth = width - left - right
            let panelHeight = (height - top - gap - bottom) / 2
            let upperTop = top
            let lowerTop = top + panelHeight + gap
            func px(_ seconds: Double) -> Int { left + Int((seconds / xMax * Double(plotWidth)).rounded()) }

            // Fault bands first, so everything else draws over them.
            for fault in faults {
                let x0 = px(fault.startS)
                let x1 = max(px(fault.endS ?? xMax), x0 + 1)
                for panelTop in [upperTop, lowerTop] {
                    for x in x0...x1 {
                        for y in panelTop...(panelTop + panelHeight) { image[x, y] = band }
                    }
                }
            }

            // Upper panel: acknowledgements per bucket (linear).
            let maxAcks = Double(max(timeline.map(\.acks).max() ?? 1, 1))
            let ackTicks = LatencyPlot.niceTicks(upTo: maxAcks * 1.05)
            let ackMax = ackTicks.last ?? maxAcks
            func pyAcks(_ value: Double) -> Int { upperTop + panelHeight - Int((value / ackMax * Double(panelHeight)).rounded()) }
            for tick in ackTicks {
                let y = pyAcks(tick)
                LatencyPlot.line(&image, left, y, left + plotWidth, y, color: tick == 0 ? axis : grid)
                let label = tick == tick.rounded() ? Report.grouped(Int(tick)) : Report.fixed(tick, 1)
                LatencyPlot.text(&image, label, x: left - 10 - LatencyPlot.textWidth(label), y: y - 7, color: black)
            }

            // Lower panel: p99 latency per bucket (log scale).
            let latencies = timeline.compactMap(\.p99Ms).filter { $0 > 0 }
            let lowDecade = Int(floor(log10(latencies.min() ?? 1)))
            let highDecade = max(Int(ceil(log10(latencies.max() ?? 10))), lowDecade + 1)
            func pyLatency(_ ms: Double) -> Int {
                let fraction = (log10(max(ms, 1e-6)) - Double(lowDecade)) / Double(highDecade - lowDecade)
                return lowerTop + panelHeight - Int((fraction * Double(panelHeight)).rounded())
            }
            for decade in lowDecade...highDecade {
                for step in 1...9 where decade < highDecade || step == 1 {
                    let y = pyLatency(Double(step) * pow(10, Double(decade)))
                    LatencyPlot.line(&image, left, y, left + plotWidth, y, color: step == 1 ? axis : grid)
                }
                let value = pow(10, Double(decade))
                let label = decade < 0 ? String(format: "%.\(-decade)f", value) : Report.grouped(Int(value))
                LatencyPlot.text(&image, label, x: left - 10 - LatencyPlot.textWidth(label), y: pyLatency(value) - 7, color: black)
            }

            // The time axis, shared.
            for tick in xTicks {
                let x = px(tick)
                LatencyPlot.line(&image, x, upperTop, x, upperTop + panelHeight, color: tick == 0 ? axis : grid)
                LatencyPlot.line(&image, x, lowerTop, x, lowerTop + panelHeight, color: tick == 0 ? axis : grid)
                let label = tick == tick.rounded() ? Report.grouped(Int(tick)) : Report.fixed(tick, 1)
                LatencyPlot.text(&image, label, x: x - LatencyPlot.textWidth(label) / 2, y: lowerTop + panelHeight + 10, color: black)
            }
            for panelTop in [upperTop, lowerTop] {
                LatencyPlot.line(&image, left, panelTop + panelHeight, left + plotWidth, panelTop + panelHeight, color: black)
                LatencyPlot.line(&image, left, panelTop, left, panelTop + panelHeight, color: black)
            }

            // The data.
            let centers = timeline.map { px($0.startS + bucketWidth / 2) }
            for index in timeline.indices.dropFirst() {
                LatencyPlot.thickLine(
                    &image, centers[index - 1], pyAcks(Double(timeline[index - 1].acks)), centers[index], pyAcks(Double(timeline[index].acks)),
                    color: ackColor, dashed: false)
                if let a = timeline[index - 1].p99Ms, let b = timeline[index].p99Ms {
                    LatencyPlot.thickLine(&image, centers[index - 1], pyLatency(a), centers[index], pyLatency(b), color: latencyColor, dashed: false)
                }
            }
            for (index, bucket) in timeline.enumerated() {
                // A lone point between empty buckets still shows.
                if let ms = bucket.p99Ms {
                    LatencyPlot.line(&image, centers[index] - 1, pyLatency(ms), centers[index] + 1, pyLatency(ms), color: latencyColor)
                }
            }

            // Fault lines and labels over the data. Labels that would run into the one before go
            // one row down (up to four rows), else they shrink to the round number.
            var rowEnds = [Int](repeating: Int.min, count: 4)
            for fault in faults {
                let x = px(fault.startS)
                for panelTop in [upperTop, lowerTop] {
                    LatencyPlot.line(&image, x, panelTop, x, panelTop + panelHeight, color: faultColor)
                    LatencyPlot.line(&image, x + 1, panelTop, x + 1, panelTop + panelHeight, color: faultColor)
                }
                var label = "\(fault.fault.rawValue) \(fault.target)"
                var row = rowEnds.firstIndex { $0 < x + 6 }
                if row == nil {
                    label = "\(fault.round)"
                    row = 0
                }
                LatencyPlot.text(&image, label, x: x + 6, y: upperTop + 6 + 14 * row!, color: faultColor)
                rowEnds[row!] = max(rowEnds[row!], x + 6 + LatencyPlot.textWidth(label) + 6)
            }

            // Titles.
            LatencyPlot.text(&image, title.uppercased(), x: left, y: 12, color: black)
            LatencyPlot.text(&image, "ACKNOWLEDGED SENDS PER 100 MS", x: left, y: upperTop - 18, color: ackColor)
            LatencyPlot.text(&image, "SEND LATENCY P99 PER 100 MS, MS (LOG SCALE)", x: left, y: lowerTop - 18, color: latencyColor)
            let xLabel = "SECONDS SINCE START (SHADED: FROM THE FAULT TO THE REJOIN)"
            LatencyPlot.text(&image, xLabel, x: left + plotWidth / 2 - LatencyPlot.textWidth(xLabel) / 2, y: height - 26, color: axis)
            return image.png()
        }
    }
}
