import Foundation
import Testing
@testable import ClpFlowReport
import ClpFlowCore

// A 5×4 RGB PNG whose rows use the Sub, Up, Average and Paeth filters.
private let tinyPNG = "iVBORw0KGgoAAAANSUhEUgAAAAUAAAAECAIAAADJUWIXAAAAOklEQVR42mNkYGAw4uU04pU24tU14rVnYreRR0bM3FH6sqoisqqysqpqsqr6LCBhXk52Xml2XiBDHgDdwAa3D4gyVwAAAABJRU5ErkJggg=="

private func bytes(_ base64: String) -> [UInt8] { [UInt8](Data(base64Encoded: base64)!) }

@Test func pngDecoderUndoesEveryFilter() throws {
    let image = try PNGImage.decode(bytes(tinyPNG))
    #expect(image.width == 5 && image.height == 4 && image.channels == 3)
    for y in 0..<4 {
        for x in 0..<5 {
            let expected = (UInt8((x * 50 + y * 7) % 256), UInt8((x * 13 + y * 60) % 256), UInt8((x * x * 9 + y * 31) % 256))
            #expect(image.rgb(x, y) == expected, "pixel (\(x), \(y))")
        }
    }
    var badCRC = bytes(tinyPNG)
    badCRC[20] ^= 1  // inside IHDR
    let crcError = #expect(throws: PNGError.self) { try PNGImage.decode(badCRC) }
    #expect(crcError?.description.contains("CRC") == true, "\(String(describing: crcError))")
    #expect(throws: PNGError.self) { try PNGImage.decode([1, 2, 3]) }
    // A truncated file (image data cut short) is an error, not a partial image.
    #expect(throws: PNGError.self) { try PNGImage.decode(Array(bytes(tinyPNG).prefix(60))) }
}

private let installHint = "install it with `CLP_FLOW_EXTRA_APT=chromium bash scripts/setup.sh` (scripts/test.sh does this) or point CLP_FLOW_CHROMIUM at a Chromium binary"

/// The Chromium binary: $CLP_FLOW_CHROMIUM, else `chromium` or `chromium-browser` on PATH.
private func findChromium() throws -> String {
    let env = ProcessInfo.processInfo.environment
    if let explicit = env["CLP_FLOW_CHROMIUM"], !explicit.isEmpty {
        guard FileManager.default.isExecutableFile(atPath: explicit) else {
            throw PNGError("CLP_FLOW_CHROMIUM=\(explicit) is not an executable file; \(installHint)")
        }
        return explicit
    }
    if let path = ExecutableSearch.find("chromium") ?? ExecutableSearch.find("chromium-browser") { return path }
    throw PNGError("Chromium not found (neither chromium nor chromium-browser is on PATH): \(installHint)")
}

/// Runs headless Chromium to screenshot `html` at width × height; returns the PNG bytes.
private func screenshot(htmlFile: URL, png: URL, width: Int, height: Int, profile: URL) throws -> [UInt8] {
    let chromium = try findChromium()
    let process = Process()
    process.executableURL = URL(fileURLWithPath: chromium)
    process.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                         "--window-size=\(width),\(height)", "--screenshot=\(png.path)",
                         "--user-data-dir=\(profile.path)", "--no-first-run", "--disable-extensions",
                         "--disable-background-networking", "--disable-component-update",
                         htmlFile.absoluteString]
    let errPipe = Pipe()
    process.standardOutput = FileHandle.nullDevice
    process.standardError = errPipe
    try process.run()
    let deadline = Date().addingTimeInterval(120)
    while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
    if process.isRunning {
        process.terminate()
        throw PNGError("Chromium did not finish within 120 s")
    }
    let stderr = String(decoding: errPipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    guard let data = FileManager.default.contents(atPath: png.path) else {
        throw PNGError("Chromium (exit \(process.terminationStatus)) wrote no screenshot; stderr:\n\(stderr.suffix(2000))")
    }
    return [UInt8](data)
}

/// Whether the browser test runs: when Chromium is found, or when CLP_FLOW_REQUIRE_BROWSER=1
/// (scripts/test.sh, i.e. `make test`, sets it after installing Chromium, so a missing browser
/// fails there instead of skipping). A bare `swift test` without Chromium reports the test as
/// skipped, with the reason.
private let browserTestRuns = (try? findChromium()) != nil || ProcessInfo.processInfo.environment["CLP_FLOW_REQUIRE_BROWSER"] == "1"

@Test(.enabled(if: browserTestRuns, "Chromium not found: \(installHint); `make test` always runs this test"))
func realisticReportRendersInHeadlessChromium() throws {
    let fm = FileManager.default
    let dir = fm.temporaryDirectory.appendingPathComponent("clp-flow-report-\(UUID().uuidString)")
    try fm.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? fm.removeItem(at: dir) }
    let data = ReportFixtures.twoRewards()
    let htmlFile = dir.appendingPathComponent("report.html"), pngFile = dir.appendingPathComponent("report.png")
    try ReportRenderer.html(data).write(to: htmlFile, atomically: true, encoding: .utf8)

    let (width, height) = (1200, 3000)
    let image = try PNGImage.decode(try screenshot(htmlFile: htmlFile, png: pngFile, width: width, height: height,
                                                    profile: dir.appendingPathComponent("profile")))
    if let keep = ProcessInfo.processInfo.environment["CLP_FLOW_KEEP_SCREENSHOT"], !keep.isEmpty {
        try? fm.removeItem(atPath: keep + "/report.png"); try? fm.removeItem(atPath: keep + "/report.html")
        try? fm.copyItem(at: pngFile, to: URL(fileURLWithPath: keep + "/report.png"))
        try? fm.copyItem(at: htmlFile, to: URL(fileURLWithPath: keep + "/report.html"))
        // The three-reward layout too, for looking at the pairwise panels.
        try? ReportRenderer.html(ReportFixtures.threeRewards()).write(toFile: keep + "/report-3.html", atomically: true, encoding: .utf8)
    }
    #expect(image.width == width && image.height == height)

    // Not blank: a real share of non-white pixels and many distinct colours.
    let methodColours = ReportRenderer.palette.prefix(4).map { hex -> (Int, Int, Int) in
        let v = Int(hex.dropFirst(), radix: 16)!
        return (v >> 16, (v >> 8) & 0xFF, v & 0xFF)
    }
    let stats = pixelStatistics(image, colours: methodColours)
    let nonWhite = stats.nonWhite, nearMethodColour = stats.nearColour
    let colours = stats.distinctColours
    let share = Double(nonWhite) / Double(width * height)
    #expect(share > 0.03, "non-white share \(share)")
    #expect(colours > 50, "\(colours) distinct colours")
    // The SVG charts were drawn: every method's colour shows up on a good number of pixels.
    for (k, n) in nearMethodColour.enumerated() {
        #expect(n > 200, "method \(data.methods[k].name) colour on \(n) pixels")
    }
}

/// Non-white pixel count (any channel below 235), distinct RGB colours (a 2^24-bit set) and, per
/// reference colour, the pixels within a small L1 distance of it.
private func pixelStatistics(_ image: PNGImage, colours: [(Int, Int, Int)])
    -> (nonWhite: Int, distinctColours: Int, nearColour: [Int])
{
    var seen = [UInt64](repeating: 0, count: (1 << 24) / 64)
    var nonWhite = 0, distinct = 0
    var near = [Int](repeating: 0, count: colours.count)
    let c = image.channels
    image.samples.withUnsafeBufferPointer { px in
        var o = 0
        while o < px.count {
            let r = Int(px[o]), g = c >= 3 ? Int(px[o + 1]) : r, b = c >= 3 ? Int(px[o + 2]) : r
            o += c
            if r < 235 || g < 235 || b < 235 {
                nonWhite += 1
                for k in 0..<colours.count where abs(r - colours[k].0) + abs(g - colours[k].1) + abs(b - colours[k].2) < 24 {
                    near[k] += 1
                }
            }
            let key = r << 16 | g << 8 | b
            let bit = UInt64(1) << UInt64(key & 63)
            if seen[key >> 6] & bit == 0 { seen[key >> 6] |= bit; distinct += 1 }
        }
    }
    return (nonWhite, distinct, near)
}
