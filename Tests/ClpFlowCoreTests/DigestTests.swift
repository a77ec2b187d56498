import Foundation
import Testing
@testable import ClpFlowCore

/// A file of `count` seeded bytes in a fresh temporary directory.
private func randomFile(_ count: Int, seed: UInt64) throws -> (URL, [UInt8]) {
    var r = SeededRandom(seed: seed)
    let bytes = (0..<count).map { _ in UInt8(truncatingIfNeeded: r.next()) }
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("clp-flow-digest-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    let url = dir.appendingPathComponent("f.bin")
    try Data(bytes).write(to: url)
    return (url, bytes)
}

@Test func fileDigestMatchesOneShotForChunkSizesAroundTheBlock() throws {
    let (url, bytes) = try randomFile(10_000, seed: 11)
    defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
    let expected = Digest.sha256Hex(bytes)
    for chunk in [1, 63, 64, 65, 4096, 10_000, 1 << 20] {
        let d = try Digest.sha256Hex(fileAt: url, chunkSize: chunk)
        #expect(d.hex == expected, "chunk \(chunk)")
        #expect(d.size == 10_000)
    }
    // Same digest as the system's sha256sum when it is installed.
    if FileManager.default.isExecutableFile(atPath: "/usr/bin/sha256sum") {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        p.arguments = [url.path]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(String(text.prefix(64)) == expected)
    }
}

@Test func fileDigestOfAMissingFileNamesThePath() {
    let url = URL(fileURLWithPath: "/nonexistent-clp-flow/missing.bin")
    let error = #expect(throws: DigestError.self) { try Digest.sha256Hex(fileAt: url) }
    #expect(error?.message == "cannot open /nonexistent-clp-flow/missing.bin: No such file or directory")
}

@Test func hasherGivesTheSameDigestForAnySplitAndInputForm() {
    let bytes = Array("The quick brown fox jumps over the lazy dog".utf8)
    let expected = "d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592"
    #expect(Digest.sha256Hex(bytes) == expected)
    #expect(Digest.sha256Hex("The quick brown fox jumps over the lazy dog") == expected)
    for split in 0...bytes.count {
        let h = SHA256Hasher()
        h.update(bytes[..<split])
        bytes[split...].withUnsafeBytes { h.update($0) }
        #expect(h.finalizeHex() == expected, "split \(split)")
    }
    let lazy = SHA256Hasher()
    lazy.update(bytes.lazy.map { $0 })
    // A non-contiguous sequence goes through the chunked path.
    #expect(lazy.finalizeHex() == expected)
}

@Test func hexWritesLowercaseTwoDigitsPerByte() {
    #expect(Digest.hex([0x00, 0x0f, 0xa0, 0xff]) == "000fa0ff")
    #expect(Digest.hex([]) == "")
}
