import Foundation

/// Draws end-to-end latency percentiles (log scale) against delivered messages per second: one point per
/// run, one line per percentile, one line style per target. Text is drawn with a built-in 5×7 font
/// (upper case, digits and a little punctuation).
public enum LatencyPlot {
    static let width = 1000
    static let height = 600
    static let left = 90, right = 270, top = 56, bottom = 64

    // Palette indices.
    static let white: UInt8 = 0, black: UInt8 = 1, grid: UInt8 = 2, axis: UInt8 = 3
    static let percentileColors: [UInt8] = [4, 5, 6, 7]
    static var percentiles: [(String, KeyPath<LatencySummary, Double>)] { [("P50", \.p50), ("P90", \.p90), ("P99", \.p99), ("P99.9", \.p999)] }

    /// The PNG of `series` (a name and its runs each).
    public static func render(series: [(name: String, runs: [FanoutResult])], title: String) -> [UInt8] {
        var image = PaletteImage(width: width, height: height, palette: [
            (255, 255, 255), (20, 20, 20), (225, 225, 225), (120, 120, 120),
            (31, 119, 180), (44, 160, 44), (255, 127, 14), (214, 39, 40),
        ])
        let points = series.flatMap { $0.runs }.filter { $0.endToEnd.count > 0 }
        let maxX = max(points.map(\.deliveredPerSecond).max() ?? 1, 1)
        let xTicks = niceTicks(upTo: maxX * 1.05)
        let xMax = xTicks.last ?? maxX
        let latencies = points.flatMap { run in percentiles.map { run.endToEnd[keyPath: $0.1] } }.filter { $0 > 0 }
        let lowDecade = Int(floor(log10(latencies.min() ?? 0.1)))
        let highDecade = max(Int(ceil(log10(latencies.max() ?? 10))), lowDecade + 1)

        let plotWidth = width - left - right
        let plotHeight = height - top - bottom
        func px(_ x: Double) -> Int { left + Int((x / xMax * Double(plotWidth)).rounded()) }
        func py(_ ms: Double) -> Int {
            let fraction = (log10(max(ms, 1e-6)) - Double(lowDecade)) / Double(highDecade - lowDecade)
            return top + plotHeight - Int((fraction * Double(plotHeight)).rounded())
        }

        // Grid, axes and labels.
        for decade in lowDecade...highDecade {
            for step in 1...9 where decade < highDecade || step == 1 {
                let y = py(Double(step) * pow(10, Double(decade)))
                line(&image, left, y, left + plotWidth, y, color: step == 1 ? axis : grid)
            }
            let label = decade < 0 ? String(format: "%.\(-decade)f", pow(10, Double(decade))) : "\(Int(pow(10, Double(decade))))"
            text(&image, label, x: left - 10 - textWidth(label), y: py(pow(10, Double(decade))) - 7, color: black)
        }
        for tick in xTicks {
            let x = px(tick)
            line(&image, x, top, x, top + plotHeight, color: tick == 0 ? axis : grid)
            let label = Report.grouped(Int(tick))
            text(&image, label, x: x - textWidth(label) / 2, y: top + plotHeight + 10, color: black)
        }
        line(&image, left, top + plotHeight, left + plotWidth, top + plotHeight, color: black)
        line(&image, left, top, left, top + plotHeight, color: black)
        text(&image, title.uppercased(), x: left, y: 14, color: black)
        text(&image, "END-TO-END LATENCY, MS (LOG SCALE)", x: left, y: top - 22, color: axis)
        let xLabel = "DELIVERED MESSAGES PER SECOND"
        text(&image, xLabel, x: left + plotWidth / 2 - textWidth(xLabel) / 2, y: height - 26, color: axis)

        // Series: a line per percentile through the runs in order of delivered rate, with markers.
        var legendY = top
        for (index, (name, runs)) in series.enumerated() {
            let sorted = runs.filter { $0.endToEnd.count > 0 }.sorted { $0.deliveredPerSecond < $1.deliveredPerSecond }
            let dashed = index % 2 == 1
            for (p, (label, path)) in percentiles.enumerated() {
                let color = percentileColors[p]
                let coordinates = sorted.map { (px($0.deliveredPerSecond), py($0.endToEnd[keyPath: path])) }
                for (a, b) in zip(coordinates, coordinates.dropFirst()) {
                    thickLine(&image, a.0, a.1, b.0, b.1, color: color, dashed: dashed)
                }
                for point in coordinates { marker(&image, point.0, point.1, color: color, hollow: dashed) }
                let legendX = left + plotWidth + 20
                thickLine(&image, legendX, legendY + 7, legendX + 30, legendY + 7, color: color, dashed: dashed)
                marker(&image, legendX + 15, legendY + 7, color: color, hollow: dashed)
                text(&image, "\(name.uppercased()) \(label)", x: legendX + 40, y: legendY, color: black)
                legendY += 24
            }
            legendY += 12
        }
        return image.png()
    }

    /// Round tick values from 0 to at least `maximum` (about five steps of 1, 2 or 5 × 10ⁿ).
    static func niceTicks(upTo maximum: Double) -> [Double] {
        let raw = maximum / 5
        let magnitude = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? magnitude * 10
        var ticks: [Double] = []
        var value = 0.0
        while value < maximum + step * 0.999 {
            ticks.append(value)
            value += step
        }
        return ticks
    }

    // MARK: Drawing

    static func line(_ image: inout PaletteImage, _ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int, color: UInt8, dashed: Bool = false) {
        let dx = abs(x1 - x0), dy = -abs(y1 - y0)
        let sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1
        var error = dx + dy
        var x = x0, y = y0, step = 0
        while true {
            if !dashed || (step / 6) % 2 == 0 { image[x, y] = color }
            if x == x1 && y == y1 { break }
            let e2 = 2 * error
            if e2 >= dy { error += dy; x += sx }
            if e2 <= dx { error += dx; y += sy }
            step += 1
        }
    }

    static func thickLine(_ image: inout PaletteImage, _ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int, color: UInt8, dashed: Bool) {
        for offset in [(0, 0), (1, 0), (0, 1)] {
            line(&image, x0 + offset.0, y0 + offset.1, x1 + offset.0, y1 + offset.1, color: color, dashed: dashed)
        }
    }

    static func marker(_ image: inout PaletteImage, _ x: Int, _ y: Int, color: UInt8, hollow: Bool) {
        for dy in -4...4 {
            for dx in -4...4 where !hollow || abs(dx) == 4 || abs(dy) == 4 { image[x + dx, y + dy] = color }
        }
    }

    /// Glyphs are 5×7, drawn at twice their size with one blank column between them.
    static let scale = 2
    static func textWidth(_ text: String) -> Int { text.count * 6 * scale }

    static func text(_ image: inout PaletteImage, _ text: String, x: Int, y: Int, color: UInt8) {
        for (index, character) in text.uppercased().enumerated() {
            guard let rows = font[character] else { continue }
            for (row, bits) in rows.enumerated() {
                for column in 0..<5 where bits & (0x10 >> column) != 0 {
                    for sy in 0..<scale {
                        for sx in 0..<scale {
                            image[x + (index * 6 + column) * scale + sx, y + row * scale + sy] = color
                        }
                    }
                }
            }
        }
    }

    static let font: [Character: [UInt8]] = [
        "0": [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E], "1": [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E],
        "2": [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F], "3": [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E],
        "4": [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02], "5": [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E],
        "6": [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E], "7": [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
        "8": [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E], "9": [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C],
        "A": [0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11], "B": [0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E],
        "C": [0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E], "D": [0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C],
        "E": [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F], "F": [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10],
        "G": [0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F], "H": [0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11],
        "I": [0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E], "J": [0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C],
        "K": [0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11], "L": [0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F],
        "M": [0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11], "N": [0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11],
        "O": [0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E], "P": [0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10],
        "Q": [0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D], "R": [0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11],
        "S": [0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E], "T": [0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04],
        "U": [0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E], "V": [0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04],
        "W": [0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A], "X": [0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11],
        "Y": [0x11, 0x11, 0x11, 0x0A, 0x04, 0x04, 0x04], "Z": [0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F],
        ".": [0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C], ",": [0x00, 0x00, 0x00, 0x00, 0x0C, 0x04, 0x08],
        "-": [0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00], "/": [0x00, 0x01, 0x02, 0x04, 0x08, 0x10, 0x00],
        "(": [0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02], ")": [0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08],
        "%": [0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03], ":": [0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x00],
        "=": [0x00, 0x00, 0x1F, 0x00, 0x1F, 0x00, 0x00], "+": [0x00, 0x04, 0x04, 0x1F, 0x04, 0x04, 0x00],
        "×": [0x00, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x00],
    ]
}
